import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';
import { keyOf } from '../support/app.ts';
import { startReceiver, type Receiver } from './support.ts';

// Real server processes (`src/main.ts`) against one PostgreSQL: the
// cross-instance guarantees cannot be shown inside one process. They use a
// scratch database of their own on the TEST_DATABASE_URL server, so their
// dispatchers never touch the shared test database.

const external = process.env.TEST_DATABASE_URL;
const root = fileURLToPath(new URL('../..', import.meta.url));
const scratchName = `consentql_propagation_${process.pid}`;
let scratchUrl = '';
let pool: pg.Pool;
const running = new Set<ChildProcess>();

interface Instance {
  url: string;
  child: ChildProcess;
}

async function startInstance(env: Record<string, string> = {}): Promise<Instance> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: scratchUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      CONSENTQL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${log}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /ConsentQL ready: GraphiQL at (http:\/\/\S+?)"/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace('localhost', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { url, child };
}

async function stop(instance: Instance, signal: NodeJS.Signals = 'SIGTERM') {
  if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
  const exited = new Promise((resolve) => instance.child.once('exit', resolve));
  instance.child.kill(signal);
  await exited;
}

async function graphql(
  instance: Instance,
  query: string,
  variables: Record<string, unknown>,
  client: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(instance.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(client)}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as any;
}

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
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${scratchName}`);
    await admin.end();
    const url = new URL(external!);
    url.pathname = `/${scratchName}`;
    scratchUrl = url.toString();
    pool = new pg.Pool({ connectionString: scratchUrl, max: 3 });
    await migrate(pool);
    await syncPurposes(pool);
    await seed(pool, { customers: 0 });
  }, 60_000);

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await pool?.end();
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
    await admin.end();
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
      await Promise.all([stop(a), stop(b)]);
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
          await stop(setup, 'SIGKILL');
        }
      })();
      expect(receiver.received).toHaveLength(0);

      // A dispatching instance whose first delivery hangs is killed in the middle of it.
      receiver.respond = () => 'hang';
      const first = await startInstance({ CONSENTQL_WEBHOOK_TIMEOUT: '1s', CONSENTQL_WEBHOOK_RETRY_SCHEDULE: '200ms,200ms' });
      const inFlight = await receiver.waitFor(() => true);
      await stop(first, 'SIGKILL');

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
        await stop(restarted);
      }
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
