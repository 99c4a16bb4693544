import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createSubject, GRANT, ledgerRows, OPT_OUT, WITHDRAW } from './support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const recorder = { client: 'consent-center', purpose: 'consent_management' };
const READ = `query($id: ID!) { customer(id: $id) { id firstName email } }`;

describe('recording consent', () => {
  it('grants several purposes at once: one event, one state and one outbox row each, with proof', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const { status, body } = await app.graphql(GRANT, {
      ...recorder,
      headers: { 'user-agent': 'Mozilla/5.0 (test)', 'x-forwarded-for': '203.0.113.7' },
      variables: {
        input: {
          subject: { id: subject.id },
          purposes: ['marketing', 'analytics'],
          source: 'CONSENT_CENTER',
          noticeVersion: 'privacy-2026-10',
        },
      },
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const { events, replayed, gpc } = body.data.grantConsent;
    expect(replayed).toBe(false);
    expect(gpc).toBeNull();
    expect(events.map((e: any) => [e.purpose, e.action, e.source, e.regime, e.noticeVersion])).toEqual([
      ['marketing', 'GRANT', 'CONSENT_CENTER', 'GDPR', 'privacy-2026-10'],
      ['analytics', 'GRANT', 'CONSENT_CENTER', 'GDPR', 'privacy-2026-10'],
    ]);
    expect(events[0].ipHash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(events[0].userAgent).toBe('Mozilla/5.0 (test)');
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 2, outbox: 2 });
    // The raw address is stored nowhere in the ledger.
    const { rows } = await app.db.pool.query(`SELECT e::text AS row FROM consent_event e WHERE customer_id = $1`, [subject.id]);
    expect(rows.every((r: { row: string }) => !r.row.includes('203.0.113.7'))).toBe(true);
  });

  it('honours a withdrawal on the very next read', async () => {
    const subject = await createSubject(app.db, { country: 'FR' }, 'Camille');
    const input = { subject: { externalId: subject.externalId }, purposes: ['marketing'], source: 'EMAIL_LINK', noticeVersion: 'v3' };
    await app.graphql(GRANT, { ...recorder, variables: { input } });
    const before = await app.graphql(READ, { client: 'email-platform-sync', purpose: 'marketing', variables: { id: subject.id } });
    expect(before.body.data.customer.firstName).toBe('Camille');
    const withdrawn = await app.graphql(WITHDRAW, { ...recorder, variables: { input: { ...input, noticeVersion: null } } });
    expect(withdrawn.body.errors).toBeUndefined();
    const after = await app.graphql(READ, { client: 'email-platform-sync', purpose: 'marketing', variables: { id: subject.id } });
    // No legal basis left: the subject is not returned in any form.
    expect(after.body.data.customer).toBeNull();
    expect(JSON.stringify(after.body)).not.toContain(subject.email);
  });

  it('keeps a CCPA opt-out from overwriting a GDPR consent record', async () => {
    const subject = await createSubject(app.db, { country: 'IE' });
    const input = { subject: { id: subject.id }, purposes: ['marketing'], source: 'CRM', noticeVersion: 'v1' };
    await app.graphql(GRANT, { ...recorder, variables: { input } });
    await app.db.prisma.customer.update({ where: { id: subject.id }, data: { country: 'US', region: 'CA' } });
    const out = await app.graphql(OPT_OUT, { ...recorder, variables: { input: { ...input, noticeVersion: null } } });
    expect(out.body.data.optOut.events[0].regime).toBe('CCPA');
    const states = await app.db.prisma.consentState.findMany({
      where: { customerId: subject.id },
      orderBy: { regime: 'asc' },
      select: { regime: true, action: true },
    });
    // Ordered by the enum's declaration order: GDPR, CCPA, US_STATE, NONE.
    expect(states).toEqual([
      { regime: 'GDPR', action: 'GRANT' },
      { regime: 'CCPA', action: 'OPT_OUT' },
    ]);
  });

  it('returns the history of a subject as proof, oldest first', async () => {
    const subject = await createSubject(app.db, { country: 'NL' });
    const input = { subject: { id: subject.id }, purposes: ['personalization'], source: 'CHATBOT', noticeVersion: 'bot-1' };
    await app.graphql(GRANT, { ...recorder, variables: { input } });
    await app.graphql(WITHDRAW, { ...recorder, variables: { input: { ...input, source: 'CONSENT_CENTER', noticeVersion: 'web-2' } } });
    const { body } = await app.graphql(
      `query($s: SubjectInput!) { consentHistory(subject: $s) { purpose action source noticeVersion regime recordedAt } consentStatus(subject: $s) { purpose permitted reason } }`,
      { ...recorder, variables: { s: { id: subject.id } } },
    );
    expect(body.data.consentHistory.map((e: any) => [e.purpose, e.action, e.source, e.noticeVersion, e.regime])).toEqual([
      ['personalization', 'GRANT', 'CHATBOT', 'bot-1', 'GDPR'],
      ['personalization', 'WITHDRAW', 'CONSENT_CENTER', 'web-2', 'GDPR'],
    ]);
    expect(body.data.consentStatus.find((s: any) => s.purpose === 'personalization')).toEqual({
      purpose: 'personalization',
      permitted: false,
      reason: 'WITHDRAWN',
    });
  });

  it('lets only consent recorders and admins write', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const { status, body } = await app.graphql(GRANT, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { input: { subject: { id: subject.id }, purposes: ['marketing'], source: 'API', noticeVersion: 'v1' } },
    });
    expect(status).toBe(403);
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 0, states: 0, outbox: 0 });
  });
});

describe('idempotency', () => {
  it('records a retried request once and returns the original events', async () => {
    const subject = await createSubject(app.db, { country: 'US', region: 'NY' });
    const input = {
      subject: { id: subject.id },
      purposes: ['marketing', 'analytics'],
      source: 'API',
      idempotencyKey: `retry-${subject.id}`,
    };
    const first = await app.graphql(OPT_OUT, { ...recorder, variables: { input } });
    const second = await app.graphql(OPT_OUT, { ...recorder, variables: { input } });
    expect(first.body.data.optOut.replayed).toBe(false);
    expect(second.body.data.optOut.replayed).toBe(true);
    expect(second.body.data.optOut.events).toEqual(first.body.data.optOut.events);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 2, outbox: 2 });

    const reused = await app.graphql(OPT_OUT, { ...recorder, variables: { input: { ...input, purposes: ['marketing'] } } });
    expect(reused.status).toBe(409);
    expect(reused.body.errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 2, outbox: 2 });
  });

  it('records concurrent retries of one request once', async () => {
    const subject = await createSubject(app.db, { country: 'AT' });
    const input = {
      subject: { id: subject.id },
      purposes: ['marketing'],
      source: 'CONSENT_CENTER',
      noticeVersion: 'v1',
      idempotencyKey: `race-${subject.id}`,
    };
    const results = await Promise.all([1, 2, 3].map(() => app.graphql(GRANT, { ...recorder, variables: { input } })));
    expect(results.map((r) => r.body.data.grantConsent.replayed).sort()).toEqual([false, true, true]);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 1, states: 1, outbox: 1 });
  });
});
