import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, keyOf, type TestApp, testMasker } from '../support/app.ts';
import { createSubject, WITHDRAW, GRANT } from '../consent/support.ts';
import { readEvents, readsRecorded } from './support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ propagation: { dispatch: false, pollIntervalMs: 200 } });
});
afterAll(async () => {
  await app.close();
});

const SUBSCRIBE = `subscription($purposes: [String!], $customerId: ID) {
  consentChanged(purposes: $purposes, customerId: $customerId) { cursor type subject customerId externalId purpose action source regime recordedAt }
}`;

async function subscribe(client: string, purpose: string, variables: Record<string, unknown>) {
  const abort = new AbortController();
  const response = await app.fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      authorization: `Bearer ${keyOf(client)}`,
      'x-purpose': purpose,
    },
    body: JSON.stringify({ query: SUBSCRIBE, variables }),
    signal: abort.signal,
  });
  return { response, stream: readEvents(response, abort) };
}

describe('consentChanged over server-sent events', () => {
  it('pushes a withdrawal to a live subscriber of the purpose, naming the subject by pseudonym', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const key = testMasker().pseudonym(subject.id, 'marketing');
    const { response, stream } = await subscribe('email-platform-sync', 'marketing', {});
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const input = { subject: { id: subject.id }, purposes: ['analytics', 'marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
    await app.graphql(GRANT, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
    await app.graphql(WITHDRAW, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
    // Other test files may commit marketing changes meanwhile: read until ours have arrived.
    const ours: any[] = [];
    while (ours.length < 2) {
      const event = await stream.next();
      expect(event.errors).toBeUndefined();
      expect(event.data.consentChanged.purpose).toBe('marketing'); // analytics changes are filtered out
      if (event.data.consentChanged.subject === key) ours.push(event.data.consentChanged);
    }
    stream.close();
    expect(ours.map((c) => c.action)).toEqual(['GRANT', 'WITHDRAW']);
    // Finding 3: the consumer gets its pseudonym, never our id, the CRM id or the regime.
    expect(ours[1]).toMatchObject({ customerId: null, externalId: null, regime: null, source: null });
    expect(BigInt(ours[1].cursor)).toBeGreaterThan(BigInt(ours[0].cursor));
    // Every pushed event is a read of the subject's data: recorded like any other.
    await expect.poll(() => readsRecorded(app.db, 'marketing', subject.id)).toBeGreaterThanOrEqual(2);
  });

  it('shows consent management the details, and lets only it follow one subject', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const { stream } = await subscribe('schema-admin', 'consent_management', { purposes: ['marketing'], customerId: subject.id });
    const input = { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
    await app.graphql(GRANT, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
    const event = await stream.next();
    stream.close();
    expect(event.data.consentChanged).toMatchObject({
      customerId: subject.id,
      externalId: subject.externalId,
      regime: 'GDPR',
      action: 'GRANT',
    });

    const { stream: refused } = await subscribe('email-platform-sync', 'marketing', { customerId: subject.id });
    const refusal = await refused.next();
    refused.close();
    expect(refusal.errors[0].extensions.code).toBe('PURPOSE_NOT_ALLOWED');
  });

  it('refuses a purpose the client is not registered for, and anonymous subscribers', async () => {
    const { stream } = await subscribe('email-platform-sync', 'marketing', { purposes: ['analytics'] });
    const refused = await stream.next();
    stream.close();
    expect(refused.errors[0].extensions.code).toBe('PURPOSE_NOT_ALLOWED');

    const abort = new AbortController();
    const anonymous = await app.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: SUBSCRIBE, variables: {} }),
      signal: abort.signal,
    });
    const events = readEvents(anonymous, abort);
    const result = await events.next();
    events.close();
    expect(result.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});
