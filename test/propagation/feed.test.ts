import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testMasker, type TestApp } from '../support/app.ts';
import { createSubject, GRANT, OPT_OUT, WITHDRAW } from '../consent/support.ts';
import { emailSha256 } from '../../src/propagation/suppression.ts';
import { readsRecorded } from './support.ts';

// The change feed and the suppression list are notices: a consumer learns of
// the changes of its declared purpose, naming the subject only by its
// pseudonym under that purpose; consent management sees the details.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const masker = testMasker();
const pseudonym = (id: string, purpose: string) => masker.pseudonym(id, purpose);

const FEED = `query($after: String, $purposes: [String!]) {
  consentChanges(after: $after, first: 1000, purposes: $purposes) {
    endCursor hasMore changes { cursor subject purpose action customerId externalId regime source }
  }
}`;
const SUPPRESSION = `query($purpose: String!, $after: String, $changesAfter: String) {
  suppressionList(purpose: $purpose, first: 1000, after: $after, changesAfter: $changesAfter) {
    endCursor hasMore changesCursor entries { subject customerId externalId emailSha256 status reason contactableUntil }
  }
}`;

const choose = (query: string, customerId: string, extra: Record<string, unknown> = {}) =>
  app.graphql(query, {
    client: 'consent-center',
    purpose: 'consent_management',
    variables: { input: { subject: { id: customerId }, purposes: ['marketing'], source: 'CRM', noticeVersion: 'v1', ...extra } },
  });

async function feedEnd(client: string, purpose: string): Promise<string> {
  let cursor: string | null = null;
  for (;;) {
    const page: any = await app.graphql(FEED, { client, purpose, variables: { after: cursor } });
    expect(page.body.errors).toBeUndefined();
    cursor = page.body.data.consentChanges.endCursor;
    if (!page.body.data.consentChanges.hasMore) return cursor!;
  }
}

describe('change feed', () => {
  it('returns exactly the changes since a cursor, in commit order, naming subjects by pseudonym', async () => {
    const cursor = await feedEnd('email-platform-sync', 'marketing');
    const a = await createSubject(app.db, { country: 'DE' });
    const b = await createSubject(app.db, { country: 'US', region: 'CA' });
    await choose(GRANT, a.id);
    await choose(OPT_OUT, b.id, { noticeVersion: null });
    await choose(WITHDRAW, a.id, { noticeVersion: null });

    const since = await app.graphql(FEED, { client: 'email-platform-sync', purpose: 'marketing', variables: { after: cursor } });
    const changes = since.body.data.consentChanges.changes;
    const mine = [pseudonym(a.id, 'marketing'), pseudonym(b.id, 'marketing')];
    // Other test files write to the same database: ours must be exactly these, in this order.
    const ours = changes.filter((c: any) => mine.includes(c.subject));
    expect(ours.map((c: any) => [c.subject, c.action])).toEqual([
      [mine[0], 'GRANT'],
      [mine[1], 'OPT_OUT'],
      [mine[0], 'WITHDRAW'],
    ]);
    // Finding 3: no clear id, CRM id or regime reaches the consumer.
    for (const change of changes) expect(change).toMatchObject({ customerId: null, externalId: null, regime: null, source: null });
    expect(JSON.stringify(since.body)).not.toContain(a.id);
    expect(JSON.stringify(since.body)).not.toContain(b.externalId);
    expect(changes.every((c: any) => BigInt(c.cursor) > BigInt(cursor) && c.purpose === 'marketing')).toBe(true);
    const nothingNew = await app.graphql(FEED, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { after: since.body.data.consentChanges.endCursor },
    });
    expect(nothingNew.body.data.consentChanges.changes.filter((c: any) => mine.includes(c.subject))).toEqual([]);

    // Consent management sees the details of the same changes, and the access is audited.
    const full = await app.graphql(FEED, { client: 'consent-center', purpose: 'consent_management', variables: { after: cursor } });
    const details = full.body.data.consentChanges.changes.filter((c: any) => c.customerId === a.id);
    expect(details.map((c: any) => [c.externalId, c.regime, c.source])).toEqual([
      [a.externalId, 'GDPR', 'CRM'],
      [a.externalId, 'GDPR', 'CRM'],
    ]);
    await expect.poll(() => readsRecorded(app.db, 'marketing', b.id)).toBeGreaterThan(0);
  });

  it('shows a consuming app only its declared purpose', async () => {
    const refused = await app.graphql(FEED, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { purposes: ['analytics'] },
    });
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED', declared: 'marketing' });
    const undeclared = await app.graphql(FEED, { client: 'email-platform-sync', variables: {} });
    expect(undeclared.body.errors[0].extensions).toMatchObject({ code: 'PURPOSE_REQUIRED' });
    const other = await app.graphql(FEED, { client: 'email-platform-sync', purpose: 'analytics', variables: {} });
    expect(other.body.errors[0].extensions).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED' });
    const own = await app.graphql(FEED, { client: 'email-platform-sync', purpose: 'marketing', variables: {} });
    expect(own.body.data.consentChanges.changes.every((c: any) => c.purpose === 'marketing')).toBe(true);
    const bad = await app.graphql(FEED, { client: 'email-platform-sync', purpose: 'marketing', variables: { after: 'yesterday' } });
    expect(bad.body.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(bad.body.errors[0].message).toMatch(/after expects a cursor returned by this feed/);
  });
});

async function snapshotOf(client: string, purpose: string) {
  const entries: any[] = [];
  let after: string | null = null;
  let changesCursor: string | undefined;
  do {
    const page: any = await app.graphql(SUPPRESSION, { client, purpose, variables: { purpose, after } });
    expect(page.body.errors).toBeUndefined();
    entries.push(...page.body.data.suppressionList.entries);
    changesCursor ??= page.body.data.suppressionList.changesCursor;
    after = page.body.data.suppressionList.hasMore ? page.body.data.suppressionList.endCursor : null;
  } while (after);
  return { entries, changesCursor: changesCursor! };
}

describe('suppression list', () => {
  it('snapshots who made a choice and must not be contacted, then returns exactly the subjects changed since', async () => {
    const withdrawn = await createSubject(app.db, { country: 'DE' });
    const silent = await createSubject(app.db, { country: 'DE' });
    const californian = await createSubject(app.db, { country: 'US', region: 'CA' });
    await choose(GRANT, withdrawn.id, { expiresAt: '2099-01-01T00:00:00Z' });
    await choose(WITHDRAW, withdrawn.id, { noticeVersion: null });

    const { entries: snapshot, changesCursor } = await snapshotOf('email-platform-sync', 'marketing');
    const keys = new Map(snapshot.map((e) => [e.subject, e]));
    // Withdrawn: listed, matchable by email hash. Never chose (GDPR, never had a basis): never sent, not listed.
    expect(keys.get(pseudonym(withdrawn.id, 'marketing'))).toMatchObject({
      status: 'SUPPRESSED',
      emailSha256: emailSha256(withdrawn.email),
      reason: null,
      customerId: null,
      externalId: null,
    });
    expect(keys.has(pseudonym(silent.id, 'marketing'))).toBe(false);
    expect(keys.has(pseudonym(californian.id, 'marketing'))).toBe(false); // CCPA: allowed until opting out
    expect(JSON.stringify(snapshot)).not.toContain(withdrawn.id);

    await choose(GRANT, withdrawn.id);
    await choose(OPT_OUT, californian.id, { noticeVersion: null });
    await choose(GRANT, silent.id);
    const delta = await app.graphql(SUPPRESSION, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { purpose: 'marketing', changesAfter: changesCursor },
    });
    const mineKeys = [withdrawn, silent, californian].map((s) => pseudonym(s.id, 'marketing'));
    const mine = delta.body.data.suppressionList.entries.filter((e: any) => mineKeys.includes(e.subject));
    expect(mine.map((e: any) => [e.subject, e.status])).toEqual([
      [mineKeys[0], 'CONTACTABLE'],
      [mineKeys[2], 'SUPPRESSED'],
      [mineKeys[1], 'CONTACTABLE'],
    ]);
    const next = await app.graphql(SUPPRESSION, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { purpose: 'marketing', changesAfter: delta.body.data.suppressionList.changesCursor },
    });
    expect(next.body.data.suppressionList.entries.filter((e: any) => mineKeys.includes(e.subject))).toEqual([]);
  });

  it('gives a training pipeline pseudonyms only: no CRM id, no email hash, no reason (finding 2)', async () => {
    const { entries } = await snapshotOf('churn-model-training', 'ai_training');
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry).toMatchObject({ customerId: null, externalId: null, emailSha256: null, reason: null, status: 'SUPPRESSED' });
      expect(entry.subject).toMatch(/^hmac:[\w-]+:[\w-]{22}$/);
    }
    const { rows } = await app.db.pool.query<{ n: number }>(
      `SELECT count(DISTINCT customer_id)::int AS n FROM consent_state WHERE purpose_key = 'ai_training'`,
    );
    expect(entries.length).toBeLessThanOrEqual(rows[0].n);
  });

  it('tells the ad partner nothing about age or residence (finding 2)', async () => {
    const { entries } = await snapshotOf('ad-partner-export', 'ad_sharing');
    expect(entries.every((e) => e.reason === null && e.customerId === null && e.emailSha256 === null)).toBe(true);
    const refused = await app.graphql(SUPPRESSION, {
      client: 'ad-partner-export',
      purpose: 'ad_sharing',
      variables: { purpose: 'marketing' },
    });
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED' });
  });

  it('refuses a snapshot cursor that was not issued for this client and purpose', async () => {
    const forged = Buffer.from(`0:${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}`).toString('base64url');
    const page = await app.graphql(SUPPRESSION, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { purpose: 'marketing', after: forged },
    });
    expect(page.body.errors[0].extensions).toMatchObject({ code: 'INVALID_CURSOR' });
  });
});
