import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPropagation, type Propagation } from '../../src/propagation/index.ts';
import { createTestApp, keyOf, type TestApp, testMasker } from '../support/app.ts';
import { createSubject, WITHDRAW, GRANT } from '../consent/support.ts';
import { readEvents } from './support.ts';

let app: TestApp;
let propagation: Propagation;
beforeAll(async () => {
  app = await createTestApp();
  propagation = await startPropagation(app.db, pino({ level: 'silent' }), testMasker(), { dispatch: false, pollIntervalMs: 200 });
});
afterAll(async () => {
  await propagation.stop();
  await app.close();
});

const SUBSCRIBE = `subscription($purposes: [String!], $customerId: ID) {
  consentChanged(purposes: $purposes, customerId: $customerId) { cursor type customerId externalId purpose action source regime recordedAt }
}`;

async function subscribe(client: string, variables: Record<string, unknown>) {
  const abort = new AbortController();
  const response = await app.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${keyOf(client)}` },
    body: JSON.stringify({ query: SUBSCRIBE, variables }),
    signal: abort.signal,
  });
  return { response, stream: readEvents(response, abort) };
}

describe('consentChanged over server-sent events', () => {
  it('pushes a withdrawal to a live subscriber of the purpose', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const { response, stream } = await subscribe('email-platform-sync', { purposes: ['marketing'], customerId: subject.id });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const input = { subject: { id: subject.id }, purposes: ['analytics', 'marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
    await app.graphql(GRANT, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
    await app.graphql(WITHDRAW, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
    // Analytics changes are filtered out: only the marketing ones arrive, in order.
    const first = await stream.next();
    const second = await stream.next();
    stream.close();
    expect(first.errors).toBeUndefined();
    expect([first.data.consentChanged.action, second.data.consentChanged.action]).toEqual(['GRANT', 'WITHDRAW']);
    expect(second.data.consentChanged).toMatchObject({ customerId: subject.id, externalId: subject.externalId, purpose: 'marketing', regime: 'GDPR' });
    expect(BigInt(second.data.consentChanged.cursor)).toBeGreaterThan(BigInt(first.data.consentChanged.cursor));
  });

  it('refuses a purpose the client is not registered for, and anonymous subscribers', async () => {
    const { stream } = await subscribe('email-platform-sync', { purposes: ['analytics'] });
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
