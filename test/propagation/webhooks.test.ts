import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, keyOf, type TestApp, testMasker } from '../support/app.ts';
import { createSubject, GRANT, WITHDRAW } from '../consent/support.ts';
import { percentile, readEvents, startReceiver, type Receiver, until } from './support.ts';

// One file runs the dispatcher against the shared database, so that no other
// dispatcher with another retry schedule takes these deliveries.

let app: TestApp;
let receiver: Receiver;
let secret: string;
let subscriptionId: string;

const RETRIES = [150, 300];

beforeAll(async () => {
  receiver = await startReceiver();
  app = await createTestApp({
    propagation: {
      retrySchedule: RETRIES,
      timeoutMs: 2000,
      pollIntervalMs: 200,
      concurrency: 8,
      // The receiver listens on loopback, which is refused unless listed; createWebhookSubscription reads the same list.
      allowHosts: ['127.0.0.1'],
    },
  });
  const created = await app.graphql(
    `mutation($url: String!) { createWebhookSubscription(url: $url, purposes: ["marketing"], description: "email platform") { secret subscription { id url purposes active } } }`,
    { client: 'schema-admin', variables: { url: receiver.url } },
  );
  expect(created.body.errors).toBeUndefined();
  secret = created.body.data.createWebhookSubscription.secret;
  subscriptionId = created.body.data.createWebhookSubscription.subscription.id;
});
afterAll(async () => {
  await app.graphql(`mutation($id: ID!) { deactivateWebhookSubscription(id: $id) { active } }`, {
    client: 'schema-admin',
    variables: { id: subscriptionId },
  });
  await receiver.close();
  await app.close();
});

const masker = testMasker();
/** A notice names the subject by its pseudonym under the change's purpose (here marketing), never by id. */
const forCustomer = (id: string) => (hook: { json: any }) => hook.json.data?.subject === masker.pseudonym(id, 'marketing');

async function withdraw(customerId: string) {
  const input = { subject: { id: customerId }, purposes: ['marketing'], source: 'EMAIL_LINK' };
  const result = await app.graphql(WITHDRAW, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
  expect(result.body.errors).toBeUndefined();
  return result.body.data.withdrawConsent.events[0];
}

async function deliveriesOf(customerId: string) {
  const outbox = await app.db.prisma.outboxEvent.findMany({ where: { customerId }, select: { id: true } });
  return app.db.prisma.webhookDelivery.findMany({
    where: { subscriptionId, outboxEventId: { in: outbox.map((o) => o.id) } },
  });
}

describe('webhooks (Standard Webhooks)', () => {
  it('delivers a signed change that an off-the-shelf library verifies', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const event = await withdraw(subject.id);
    const hook = await receiver.waitFor(forCustomer(subject.id));
    expect(hook.headers['webhook-id']).toMatch(/^msg_\d+$/);
    expect(hook.headers['webhook-timestamp']).toMatch(/^\d+$/);
    expect(hook.headers['webhook-signature']).toMatch(/^v1,/);
    const verified = new Webhook(secret).verify(hook.body, hook.headers) as any;
    expect(verified).toEqual({
      type: 'consent.changed',
      timestamp: expect.any(String),
      data: {
        subject: masker.pseudonym(subject.id, 'marketing'),
        purpose: 'marketing',
        purposeVersion: 1,
        action: 'WITHDRAW',
        recordedAt: event.recordedAt,
        erased: false,
        extracts: [],
      },
    });
    // Neither our id nor the CRM's nor the regime leaves in a notice.
    for (const secret of [subject.id, subject.externalId, 'GDPR']) expect(hook.body).not.toContain(secret);
    // A tampered body fails verification.
    expect(() => new Webhook(secret).verify(hook.body.replace('WITHDRAW', 'GRANT'), hook.headers)).toThrow();
  });

  it('retries after a 500, with the same webhook-id', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    let failures = 0;
    receiver.respond = (hook) => (forCustomer(subject.id)(hook) && failures++ === 0 ? 500 : 200);
    await withdraw(subject.id);
    await receiver.waitFor((h) => forCustomer(subject.id)(h) && receiver.received.filter(forCustomer(subject.id)).length >= 2);
    const hooks = receiver.received.filter(forCustomer(subject.id));
    expect(hooks).toHaveLength(2);
    expect(hooks[1].headers['webhook-id']).toBe(hooks[0].headers['webhook-id']);
    expect(hooks[1].at - hooks[0].at).toBeGreaterThanOrEqual(RETRIES[0] - 20);
    const [delivery] = await until(
      () => deliveriesOf(subject.id),
      (d) => d[0]?.status === 'DELIVERED',
    );
    expect(delivery).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatus: 200 });
    receiver.respond = () => 200;
  });

  it('dead-letters after the last retry, shows it to an admin, and replays it', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    let failing = true;
    receiver.respond = (hook) => (forCustomer(subject.id)(hook) && failing ? 503 : 200);
    await withdraw(subject.id);
    const [dead] = await until(
      () => deliveriesOf(subject.id),
      (d) => d[0]?.status === 'DEAD',
    );
    expect(dead).toMatchObject({ status: 'DEAD', attempts: RETRIES.length + 1, lastStatus: 503, lastError: 'HTTP 503' });
    expect(receiver.received.filter(forCustomer(subject.id))).toHaveLength(RETRIES.length + 1);

    const listed = await app.graphql(
      `query($s: ID) { webhookDeliveries(status: DEAD, subscriptionId: $s) { id status attempts lastStatus webhookId } }`,
      { client: 'schema-admin', variables: { s: subscriptionId } },
    );
    expect(listed.body.data.webhookDeliveries).toContainEqual(
      expect.objectContaining({ id: dead.id, status: 'DEAD', attempts: 3, lastStatus: 503 }),
    );
    const notAdmin = await app.graphql(`{ webhookDeliveries(status: DEAD) { id } }`, { client: 'email-platform-sync' });
    expect(notAdmin.body.errors[0].extensions.code).toBe('FORBIDDEN');

    failing = false;
    const replayed = await app.graphql(`mutation($id: ID!) { replayWebhookDelivery(id: $id) { id status attempts } }`, {
      client: 'schema-admin',
      variables: { id: dead.id },
    });
    expect(replayed.body.data.replayWebhookDelivery).toEqual({ id: dead.id, status: 'PENDING', attempts: 0 });
    const [delivered] = await until(
      () => deliveriesOf(subject.id),
      (d) => d[0]?.status === 'DELIVERED',
    );
    expect(delivered).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatus: 200 });
    const again = await app.graphql(`mutation($id: ID!) { replayWebhookDelivery(id: $id) { id } }`, {
      client: 'schema-admin',
      variables: { id: dead.id },
    });
    expect(again.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(again.body.errors[0].message).toMatch(/Only a DEAD delivery can be replayed.*DELIVERED/);
  });

  it('measures the lag from a committed withdrawal to the webhook and the SSE event', async () => {
    const subject = await createSubject(app.db, { country: 'DE' });
    const abort = new AbortController();
    const sse = readEvents(
      await app.fetch('/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${keyOf('schema-admin')}`,
          'x-purpose': 'consent_management',
        },
        body: JSON.stringify({
          query: `subscription($c: ID) { consentChanged(customerId: $c) { eventId } }`,
          variables: { c: subject.id },
        }),
        signal: abort.signal,
      }),
      abort,
    );
    const hookLag: number[] = [];
    const sseLag: number[] = [];
    const input = { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
    for (let i = 0; i < 20; i++) {
      const mutation = i % 2 === 0 ? WITHDRAW : GRANT;
      const result = await app.graphql(mutation, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
      const committed = Date.now();
      const event = Object.values(result.body.data as Record<string, any>)[0].events[0];
      const pushed = await sse.next();
      sseLag.push(Date.now() - committed);
      expect(pushed.data.consentChanged.eventId).toBe(event.id);
      const hook = await receiver.waitFor((h) => forCustomer(subject.id)(h) && h.json.data.recordedAt === event.recordedAt);
      hookLag.push(Math.max(0, hook.at - committed));
    }
    sse.close();
    const summary = {
      sse: { p50: percentile(sseLag, 50), p95: percentile(sseLag, 95), max: Math.max(...sseLag) },
      webhook: { p50: percentile(hookLag, 50), p95: percentile(hookLag, 95), max: Math.max(...hookLag) },
    };
    console.log(`propagation lag after the mutation's response (ms, 20 changes): ${JSON.stringify(summary)}`);
    expect(summary.webhook.p95).toBeLessThan(2000);
  });
});
