import net from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';
import { startPropagation, type Propagation } from '../../src/propagation/index.ts';
import { addressAllowed, checkTarget, classifyAddress, targetPolicy, type Resolve } from '../../src/propagation/targets.ts';
import { newWebhookSecret, sendWebhook, TARGET_NOT_ALLOWED, TARGET_URL_NOT_ALLOWED } from '../../src/propagation/webhooks.ts';
import { createServer } from '../../src/server.ts';
import {
  createTestApp,
  databaseUrl,
  keyOf,
  poolSize,
  testConfig,
  testMasker,
  testPropagationOptions,
  type TestApp,
} from '../support/app.ts';
import { createSubject, WITHDRAW } from '../consent/support.ts';
import { startReceiver, type Receiver, until } from './support.ts';

// Finding 5 of issue 9: webhook targets could be any http(s) URL, loopback
// and private ranges included, and the delivery status told which ports
// answer. Traffic in these tests goes to 127.0.0.1 only: every other
// non-public address is checked by classification alone, never connected to.

const CREATE = `mutation($url: String!) { createWebhookSubscription(url: $url, purposes: ["marketing"]) { subscription { id url } } }`;

/** A TCP server that counts connections: a refused target must get none, not even a handshake. */
async function startTrap() {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const message = { id: 'msg_1', type: 'consent.changed', occurredAt: new Date(), data: { hello: 'world' } };

describe('the address classifier', () => {
  const cases: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:808:808::1', 'public'],
    ['2001:db8::1', 'reserved'],
    ['2001:4860:4860::8888', 'public'],
    ['2606:4700::1111', 'public'],
    ['4000::1', 'reserved'],
  ];
  it.each(cases)('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('lets listed addresses, ranges and names through, and the metadata service only when listed exactly', () => {
    const policy = targetPolicy(['127.0.0.1', '10.20.0.0/16', 'Receiver.Local.', '169.254.0.0/16']);
    expect(addressAllowed('127.0.0.1', policy).allowed).toBe(true);
    expect(addressAllowed('127.0.0.2', policy)).toEqual({ allowed: false, kind: 'loopback' });
    expect(addressAllowed('::1', policy)).toEqual({ allowed: false, kind: 'loopback' });
    expect(addressAllowed('10.20.3.4', policy).allowed).toBe(true);
    expect(addressAllowed('10.21.0.1', policy)).toEqual({ allowed: false, kind: 'private' });
    expect(addressAllowed('169.254.1.1', policy).allowed).toBe(true);
    expect(addressAllowed('169.254.169.254', policy)).toEqual({ allowed: false, kind: 'metadata' });
    expect(addressAllowed('169.254.169.254', targetPolicy(['169.254.169.254'])).allowed).toBe(true);
    expect([...policy.names]).toEqual(['receiver.local']);
  });

  it('refuses a setting it cannot read, naming it', () => {
    for (const bad of ['10.0.0.0/33', 'http://localhost', 'two words', '127.0.0.1:8080']) {
      expect(() => targetPolicy([bad])).toThrow(/CONSENTQL_WEBHOOK_ALLOW_HOSTS expects host names, IP addresses or CIDR ranges/);
    }
    expect(loadConfig({ CONSENTQL_WEBHOOK_ALLOW_HOSTS: ' 127.0.0.1, localhost ,' }).propagation.allowHosts).toEqual([
      '127.0.0.1',
      'localhost',
    ]);
    expect(loadConfig({}).propagation.allowHosts).toEqual([]);
    expect(() => loadConfig({ CONSENTQL_WEBHOOK_ALLOW_HOSTS: '10.0.0.0/40' })).toThrow(/CONSENTQL_WEBHOOK_ALLOW_HOSTS/);
  });

  it('refuses a name if any address it resolves to is refused (rebinding), without connecting', async () => {
    const resolver =
      (...addresses: string[]): Resolve =>
      async () =>
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const url = new URL('http://hooks.example.test/consent');
    expect(await checkTarget(url, targetPolicy([]), resolver('93.184.216.34', '127.0.0.1'))).toMatchObject({
      ok: false,
      problem: 'refused',
      address: '127.0.0.1',
      kind: 'loopback',
    });
    expect(await checkTarget(url, targetPolicy([]), resolver('10.1.2.3'))).toMatchObject({
      ok: false,
      problem: 'refused',
      kind: 'private',
    });
    expect(await checkTarget(url, targetPolicy([]), resolver('::ffff:169.254.169.254'))).toMatchObject({ ok: false, kind: 'metadata' });
    expect(await checkTarget(url, targetPolicy(['hooks.example.test']), resolver('10.1.2.3'))).toMatchObject({ ok: true });
    // A listed name still may not lead to the metadata service.
    expect(await checkTarget(url, targetPolicy(['hooks.example.test']), resolver('169.254.169.254'))).toMatchObject({
      ok: false,
      kind: 'metadata',
    });
    // localhost is this machine whatever a resolver says (RFC 6761).
    expect(await checkTarget(new URL('http://api.localhost/'), targetPolicy([]), resolver('93.184.216.34'))).toMatchObject({
      ok: false,
      kind: 'loopback',
    });
  });
});

describe('sendWebhook checks the address it connects to', () => {
  let trap: Awaited<ReturnType<typeof startTrap>>;
  let receiver: Receiver;
  beforeAll(async () => {
    trap = await startTrap();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await trap.close();
    await receiver.close();
  });

  it('never connects to a refused target, and says so in a fixed text', async () => {
    const rebound: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    const attempts = await Promise.all([
      sendWebhook(`http://127.0.0.1:${trap.port}/`, newWebhookSecret(), message, { timeoutMs: 1000 }),
      sendWebhook(`http://[::ffff:127.0.0.1]:${trap.port}/`, newWebhookSecret(), message, { timeoutMs: 1000 }),
      sendWebhook(`http://localhost:${trap.port}/`, newWebhookSecret(), message, { timeoutMs: 1000 }),
      sendWebhook(`http://hooks.example.test:${trap.port}/`, newWebhookSecret(), message, { timeoutMs: 1000, resolve: rebound }),
    ]);
    for (const attempt of attempts) expect(attempt).toEqual({ ok: false, status: null, error: TARGET_NOT_ALLOWED, refused: true });
    // Credentials in a stored URL: refused too, even to an allowed host.
    const withCredentials = await sendWebhook(`http://alice:s3cret@localhost:${trap.port}/`, newWebhookSecret(), message, {
      timeoutMs: 1000,
      policy: targetPolicy(['localhost']),
    });
    expect(withCredentials).toEqual({ ok: false, status: null, error: TARGET_URL_NOT_ALLOWED, refused: true });
    expect(trap.connections()).toBe(0);
  });

  it('connects to the checked address itself, not to a second resolution', async () => {
    let lookups = 0;
    // The system resolver does not know this name: only the pinned address can reach the receiver.
    const resolve: Resolve = async () => {
      lookups++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const port = new URL(receiver.url).port;
    const attempt = await sendWebhook(
      `http://receiver.test:${port}/hooks?token=abc`,
      newWebhookSecret(),
      { ...message, id: 'msg_pinned' },
      {
        timeoutMs: 2000,
        policy: targetPolicy(['receiver.test']),
        resolve,
      },
    );
    expect(attempt).toEqual({ ok: true, status: 200, error: null });
    expect(lookups).toBe(1);
    const hook = await receiver.waitFor((h) => h.headers['webhook-id'] === 'msg_pinned');
    expect(hook.headers.host).toBe(`receiver.test:${port}`);
  });

  it('reports a failed connection without the URL, its port or its query', async () => {
    const port = await closedPort();
    const attempt = await sendWebhook(`http://localhost:${port}/hooks?token=s3cret`, newWebhookSecret(), message, {
      timeoutMs: 2000,
      policy: targetPolicy(['localhost']),
    });
    expect(attempt).toEqual({ ok: false, status: null, error: 'connection refused' });
  });
});

describe('createWebhookSubscription refuses targets that are not public', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  const stored = (fragment: string) => app.db.prisma.webhookSubscription.count({ where: { url: { contains: fragment } } });

  const refused: [url: string, stored: string, reason: string | undefined, says: RegExp][] = [
    ['http://127.0.0.1:5432/', '127.0.0.1:5432', 'loopback', /url points to 127\.0\.0\.1, a loopback address/],
    ['http://10.0.0.1/', '//10.0.0.1', 'private', /url points to 10\.0\.0\.1, a private network address/],
    ['http://169.254.169.254/latest', '169.254.169.254', 'metadata', /url points to 169\.254\.169\.254, a cloud metadata service address/],
    ['http://[::1]/', '[::1]', 'loopback', /url points to ::1, a loopback address/],
    ['http://[::ffff:127.0.0.1]:6379/', ':6379', 'loopback', /loopback/],
    ['http://2130706433:6379/', ':6379', 'loopback', /url points to 127\.0\.0\.1/],
    ['http://0.0.0.0:5432/', '0.0.0.0', 'unspecified', /unspecified/],
    ['http://100.64.1.1/', '100.64.1.1', 'shared', /carrier-grade NAT/],
    ['http://[fd00:ec2::254]/', 'fd00:ec2', 'metadata', /metadata/],
    ['http://localhost:5432/', 'localhost:5432', 'loopback', /url points to localhost, a loopback address/],
    [
      'http://user:pass@example.com/',
      'example.com',
      'credentials',
      /url must not carry a user name or password, but got "http:\/\/\*\*\*@example\.com\/"/,
    ],
    ['http://alice:s3cret@example.com/hooks', 'example.com', 'credentials', /remove them from the URL/],
    ['ftp://example.com/hooks', 'ftp:', undefined, /url expects an absolute http\(s\) URL/],
    [
      'alice:s3cret@example.com/hooks',
      's3cret@',
      undefined,
      /url expects an absolute http\(s\) URL .*, but got "\*\*\*@example\.com\/hooks"/,
    ],
  ];
  it.each(refused)('%s', async (url, fragment, reason, says) => {
    const before = await stored(fragment);
    const { body } = await app.graphql(CREATE, { client: 'schema-admin', variables: { url } });
    expect(body.data?.createWebhookSubscription ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    const [error] = body.errors;
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.argument).toBe('url');
    if (reason) expect(error.extensions.reason).toBe(reason);
    expect(error.message).toMatch(says);
    if (reason && reason !== 'credentials') expect(error.message).toContain('CONSENTQL_WEBHOOK_ALLOW_HOSTS');
    // Credentials are not echoed back.
    for (const secret of ['user:pass', ':pass@', 's3cret', 'alice']) expect(JSON.stringify(error)).not.toContain(secret);
    expect(await stored(fragment)).toBe(before);
  });

  it("takes a loopback host listed in CONSENTQL_WEBHOOK_ALLOW_HOSTS (from the server's config, without a dispatcher)", async () => {
    const port = await closedPort();
    const url = `http://localhost:${port}/hooks/consent`;
    const listed = await createTestApp({ env: { CONSENTQL_WEBHOOK_ALLOW_HOSTS: 'localhost' } });
    try {
      const { body } = await listed.graphql(CREATE, { client: 'schema-admin', variables: { url } });
      expect(body.errors).toBeUndefined();
      expect(body.data.createWebhookSubscription.subscription.url).toBe(url);
      // Not left behind for another file's dispatcher.
      await listed.db.prisma.webhookSubscription.delete({ where: { id: body.data.createWebhookSubscription.subscription.id } });
      // Listing the name does not list the address.
      const literal = await listed.graphql(CREATE, { client: 'schema-admin', variables: { url: `http://127.0.0.1:${port}/` } });
      expect(literal.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'loopback' });
      // The suite's own server, configured without the list, still refuses the name.
      const refused = await app.graphql(CREATE, { client: 'schema-admin', variables: { url } });
      expect(refused.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'loopback' });
    } finally {
      await listed.close();
    }
  });
});

// The dispatcher runs against a database no other file dispatches from: on
// PostgreSQL (files in parallel) a scratch database of its own, since another
// file's dispatcher, with another allow-list, would take these deliveries;
// on PGlite the shared one, as files take turns there.
describe('deliveries', () => {
  const external = inject('databaseKind') === 'postgresql';
  const scratchName = `consentql_webhook_targets_${process.pid}`;
  let db: Database;
  let yoga: ReturnType<typeof createServer>;
  let propagation: Propagation;
  let fast: Receiver;
  let slow: Receiver;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  const logs: string[] = [];
  const subscriptions: string[] = [];
  const TIMEOUT_MS = 3000;
  const masker = testMasker();

  async function graphql(query: string, variables: Record<string, unknown>, client: string, purpose?: string) {
    const response = await yoga.fetch(
      new Request('http://localhost/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${keyOf(client)}`,
          ...(purpose ? { 'x-purpose': purpose } : {}),
        },
        body: JSON.stringify({ query, variables }),
      }),
    );
    return (await response.json()) as any;
  }

  async function withdraw(customerId: string) {
    const input = { subject: { id: customerId }, purposes: ['marketing'], source: 'EMAIL_LINK' };
    const result = await graphql(WITHDRAW, { input }, 'consent-center', 'consent_management');
    expect(result.errors).toBeUndefined();
    return result.data.withdrawConsent.events[0];
  }

  async function subscribeBySql(url: string): Promise<string> {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO webhook_subscription (id, url, purposes, secret, active, created_at)
       VALUES (gen_random_uuid(), $1, ARRAY['marketing'], $2, true, now()) RETURNING id::text`,
      [url, newWebhookSecret()],
    );
    subscriptions.push(rows[0].id);
    return rows[0].id;
  }

  async function deliveryOf(subscriptionId: string, customerId: string) {
    const { rows } = await db.pool.query(
      `SELECT d.status, d.attempts, d.last_status AS "lastStatus", d.last_error AS "lastError"
         FROM webhook_delivery d JOIN outbox_event o ON o.id = d.outbox_event_id
        WHERE d.subscription_id = $1 AND o.customer_id = $2`,
      [subscriptionId, customerId],
    );
    return rows[0] as { status: string; attempts: number; lastStatus: number | null; lastError: string | null } | undefined;
  }

  beforeAll(async () => {
    let url = databaseUrl();
    if (external) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${scratchName}`);
      await admin.end();
      const scratch = new URL(url);
      scratch.pathname = `/${scratchName}`;
      url = scratch.toString();
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      await migrate(pool);
      await syncPurposes(pool);
      await seed(pool, { customers: 0 });
      await pool.end();
    }
    db = await openDatabase({ databaseUrl: url, poolSize: poolSize() });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    propagation = await startPropagation(
      db,
      pino({ level: 'debug' }, sink),
      testMasker(),
      testPropagationOptions({
        retrySchedule: [],
        timeoutMs: TIMEOUT_MS,
        pollIntervalMs: 100,
        concurrency: 4,
        // The receivers are addressed as localhost: 127.0.0.1 itself stays refused.
        allowHosts: ['localhost'],
      }),
    );
    // createWebhookSubscription checks URLs against the dispatcher's own list.
    yoga = createServer({ config: testConfig(), db, logger: pino({ level: 'silent' }), propagation });
    // Changes other files left undispatched are fanned out before these subscriptions exist.
    await until(
      async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_event WHERE dispatched_at IS NULL`)).rows[0].n,
      (n) => n === 0,
    );
    fast = await startReceiver();
    slow = await startReceiver();
    slow.respond = () => 'hang';
    trap = await startTrap();
  }, 120_000);

  afterAll(async () => {
    if (subscriptions.length > 0) {
      await db?.pool.query(`UPDATE webhook_subscription SET active = false WHERE id = ANY ($1::uuid[])`, [subscriptions]);
    }
    await propagation?.stop();
    await fast?.close();
    await slow?.close();
    await trap?.close();
    await db?.close();
    if (external) {
      const admin = new pg.Client({ connectionString: databaseUrl() });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${scratchName} WITH (FORCE)`);
      await admin.end();
    }
  });

  const local = (receiverUrl: string) => receiverUrl.replace('127.0.0.1', 'localhost');
  const forSubject = (id: string) => (hook: { json: any }) => hook.json.data?.subject === masker.pseudonym(id, 'marketing');

  let fastId: string;
  let slowId: string;

  it('creates subscriptions to listed hosts with the allow-list the dispatcher uses', async () => {
    const created = [];
    for (const url of [`${local(fast.url)}?token=q-s3cret`, local(slow.url)]) {
      const result = await graphql(CREATE, { url }, 'schema-admin');
      expect(result.errors).toBeUndefined();
      created.push(result.data.createWebhookSubscription.subscription.id as string);
    }
    [fastId, slowId] = created;
    subscriptions.push(...created);
    // The same dispatcher's list refuses the address itself.
    const literal = await graphql(CREATE, { url: fast.url }, 'schema-admin');
    expect(literal.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'loopback' });
  });

  it('never connects to a refused target stored before the check, and reports it in the same words whether or not a port is open', async () => {
    const open = await subscribeBySql(`http://127.0.0.1:${trap.port}/`);
    const closed = await subscribeBySql(`http://127.0.0.1:${await closedPort()}/`);
    const mapped = await subscribeBySql(`http://[::ffff:127.0.0.1]:${trap.port}/`);
    const credentials = await subscribeBySql(`http://alice:pw-s3cret@localhost:${trap.port}/hooks`);
    const subject = await createSubject(db, { country: 'DE' });
    await withdraw(subject.id);

    await fast.waitFor(forSubject(subject.id));
    for (const id of [open, closed, mapped]) {
      const delivery = await until(
        () => deliveryOf(id, subject.id),
        (d) => d?.status === 'DEAD',
      );
      expect(delivery).toEqual({ status: 'DEAD', attempts: 1, lastStatus: null, lastError: TARGET_NOT_ALLOWED });
    }
    expect(
      await until(
        () => deliveryOf(credentials, subject.id),
        (d) => d?.status === 'DEAD',
      ),
    ).toEqual({
      status: 'DEAD',
      attempts: 1,
      lastStatus: null,
      lastError: TARGET_URL_NOT_ALLOWED,
    });
    expect(trap.connections()).toBe(0);

    // Logs name a target by scheme, host and port: no credentials, no query.
    // A delivery is logged when its batch settles, which may come just after the receiver got it.
    const text = await until(
      async () => logs.join(''),
      (t) => t.includes('webhook delivered'),
    );
    expect(text).toContain('webhook target refused; dead-lettered without sending');
    expect(text).toContain('webhook delivered');
    for (const secret of ['s3cret', 'alice', 'token=']) expect(text).not.toContain(secret);
  });

  it('a slow endpoint delays neither the deliveries to a fast one nor those after it', async () => {
    const lags: number[] = [];
    const subjects: { id: string }[] = [];
    for (let i = 0; i < 6; i++) subjects.push(await createSubject(db, { country: 'DE' }));
    for (const subject of subjects) {
      await withdraw(subject.id);
      const committed = Date.now();
      const hook = await fast.waitFor(forSubject(subject.id), 10_000);
      lags.push(hook.at - committed);
    }
    console.log(`fast endpoint lag with a hanging one beside it (ms): ${JSON.stringify(lags)}; the slow one's timeout is ${TIMEOUT_MS} ms`);
    // The old dispatcher waited for a whole batch: each change after the first waited for the slow endpoint's timeout.
    expect(Math.max(...lags)).toBeLessThan(TIMEOUT_MS / 3);
    // The slow endpoint got the changes (at most half the slots at a time) and each ended on its own timeout.
    const first = await until(
      () => deliveryOf(slowId, subjects[0].id),
      (d) => d?.status === 'DEAD',
    );
    expect(first).toEqual({ status: 'DEAD', attempts: 1, lastStatus: null, lastError: `no answer within ${TIMEOUT_MS} ms` });
    for (const subject of subjects) {
      const delivered = await until(
        () => deliveryOf(fastId, subject.id),
        (d) => d?.status === 'DELIVERED',
      );
      expect(delivered).toMatchObject({ status: 'DELIVERED', attempts: 1, lastStatus: 200, lastError: null });
    }
  }, 60_000);
});
