import type pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyOf } from '../support/app.ts';
import { graphql, killAll, scratchDatabase, startApi, stopProc } from './process-support.ts';
import { startReceiver, type Receiver } from './support.ts';

// Real server processes (`src/main.ts`) against one PostgreSQL: the
// cross-instance guarantees cannot be shown inside one process. They use a
// scratch database of their own on the TEST_DATABASE_URL server, so their
// dispatchers never touch the shared test database.

const external = process.env.TEST_DATABASE_URL;
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let pool: pg.Pool;
const startInstance = (env: Record<string, string> = {}) => startApi(scratch.url, env);

async function newSubject(firstName: string) {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO customer (id, external_id, email, first_name, last_name, country, updated_at)
     VALUES (gen_random_uuid(), 'TEST-' || gen_random_uuid(), gen_random_uuid() || '@consentql.test', $1, 'Subject', 'DE', now())
     RETURNING id`,
    [firstName],
  );
  return rows[0].id;
}

const CHOICE = (name: string) => `mutation($input: ConsentChoiceInput!) { ${name}(input: $input) { events { id } } }`;
const READ = `query($id: ID!) { customer(id: $id) { firstName } }`;

describe.runIf(external)('several server processes against one PostgreSQL', () => {
  beforeAll(async () => {
    scratch = await scratchDatabase(external!, 'consentql_propagation');
    pool = scratch.pool;
  }, 60_000);

  afterAll(async () => {
    killAll();
    await scratch?.drop();
  });

  it('a withdrawal through instance A removes the subject from the next read through instance B', async () => {
    const [a, b] = await Promise.all([startInstance(), startInstance()]);
    try {
      const id = await newSubject('Anouk');
      const input = { subject: { id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
      for (let round = 0; round < 5; round++) {
        const granted = await graphql(a, CHOICE('grantConsent'), { input }, 'consent-center', { 'x-purpose': 'consent_management' });
        expect(granted.errors).toBeUndefined();
        const visible = await graphql(b, READ, { id }, 'email-platform-sync', { 'x-purpose': 'marketing' });
        expect(visible.data.customer.firstName).toBe('Anouk');
        const withdrawn = await graphql(a, CHOICE('withdrawConsent'), { input: { ...input, noticeVersion: null } }, 'consent-center', {
          'x-purpose': 'consent_management',
        });
        expect(withdrawn.errors).toBeUndefined();
        // At once, no waiting: the read starts after the commit, on the other instance.
        const masked = await graphql(b, READ, { id }, 'email-platform-sync', { 'x-purpose': 'marketing' });
        // Without a legal basis the subject is not returned at all.
        expect(masked.data.customer).toBeNull();
      }

      // B's subscribers hear of A's commit through NOTIFY.
      const abort = new AbortController();
      const sse = await fetch(b.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          authorization: `Bearer ${keyOf('schema-admin')}`,
          'x-purpose': 'consent_management',
        },
        body: JSON.stringify({ query: `subscription($c: ID) { consentChanged(customerId: $c) { action } }`, variables: { c: id } }),
        signal: abort.signal,
      });
      const reader = sse.body!.getReader();
      await graphql(a, CHOICE('grantConsent'), { input }, 'consent-center', { 'x-purpose': 'consent_management' });
      const sent = Date.now();
      let text = '';
      while (!text.includes('event: next')) text += new TextDecoder().decode((await reader.read()).value);
      console.log(`cross-instance SSE lag (A commits, B pushes): ${Date.now() - sent} ms`);
      expect(text).toContain('"action":"GRANT"');
      abort.abort();
    } finally {
      await Promise.all([stopProc(a), stopProc(b)]);
    }
  }, 60_000);

  it('a server killed with SIGKILL after commit and before delivery delivers after restart', async () => {
    const receiver: Receiver = await startReceiver();
    try {
      const secret = await (async () => {
        const setup = await startInstance({ CONSENTQL_WEBHOOK_DISPATCH: 'off' });
        try {
          const created = await graphql(
            setup,
            `mutation($url: String!) { createWebhookSubscription(url: $url, purposes: ["marketing"]) { secret } }`,
            { url: receiver.url },
            'schema-admin',
          );
          // Committed on an instance that does not dispatch, which is then killed: the outbox row alone survives.
          const id = await newSubject('Kai');
          const recorded = await graphql(
            setup,
            CHOICE('withdrawConsent'),
            { input: { subject: { id }, purposes: ['marketing'], source: 'CRM' } },
            'consent-center',
            { 'x-purpose': 'consent_management' },
          );
          expect(recorded.errors).toBeUndefined();
          return created.data.createWebhookSubscription.secret as string;
        } finally {
          await stopProc(setup, 'SIGKILL');
        }
      })();
      expect(receiver.received).toHaveLength(0);

      // A dispatching instance whose first delivery hangs is killed in the middle of it.
      receiver.respond = () => 'hang';
      const first = await startInstance({ CONSENTQL_WEBHOOK_TIMEOUT: '1s', CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '200ms,200ms' });
      const inFlight = await receiver.waitFor(() => true);
      await stopProc(first, 'SIGKILL');

      receiver.respond = () => 200;
      const restarted = await startInstance({ CONSENTQL_WEBHOOK_TIMEOUT: '1s', CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '200ms,200ms' });
      try {
        // The claim of the killed process expires (its lease: twice the timeout, plus a second), then it is sent again.
        const redelivered = await receiver.waitFor((h) => h !== inFlight, 20_000);
        expect(redelivered.headers['webhook-id']).toBe(inFlight.headers['webhook-id']);
        expect((new Webhook(secret).verify(redelivered.body, redelivered.headers) as any).data.action).toBe('WITHDRAW');
        const { rows } = await pool.query(`SELECT status FROM webhook_delivery`);
        for (let i = 0; i < 50 && rows[0]?.status !== 'DELIVERED'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          rows.splice(0, rows.length, ...(await pool.query(`SELECT status FROM webhook_delivery`)).rows);
        }
        expect(rows).toEqual([{ status: 'DELIVERED' }]);
      } finally {
        await stopProc(restarted);
      }
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
