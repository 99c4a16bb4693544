import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessLog } from '../../src/audit/access-log.ts';
import type { Database } from '../../src/db/database.ts';
import { Metrics } from '../../src/http/metrics.ts';
import { Shutdown } from '../../src/lifecycle.ts';
import { createServer, type ServerOptions } from '../../src/server.ts';
import { capturedLogger } from '../support/logs.ts';
import { createTestApp, keyOf, TEST_PEER_ADDRESS, testConfig, type TestApp } from '../support/app.ts';

// Probes, request ids, the request log line, metrics and the access-record
// batcher, through Yoga's HTTP handling (and a real socket for /metrics).

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

type Yoga = ReturnType<typeof createServer>;
const peer = { req: { socket: { remoteAddress: TEST_PEER_ADDRESS } } };

function serverWith(options: Partial<ServerOptions> = {}): Yoga {
  return createServer({ config: testConfig(), db: app.db, logger: pino({ level: 'silent' }), ...options });
}

const ask = (yoga: Yoga, path: string, init?: RequestInit) =>
  Promise.resolve(yoga.fetch(new Request(`http://localhost${path}`, init), peer));

function query(
  yoga: Yoga,
  document: string,
  options: { client?: string; purpose?: string; variables?: unknown; headers?: Record<string, string> } = {},
) {
  return ask(yoga, '/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(options.client ? { authorization: `Bearer ${keyOf(options.client)}` } : {}),
      ...(options.purpose ? { 'x-purpose': options.purpose } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query: document, variables: options.variables }),
  });
}

/** The database, with its pool failing (or hanging) on the statements `broken` picks. */
function faultyDatabase(broken: (sql: string) => 'fail' | 'hang' | null): Database {
  const pool = new Proxy(app.db.pool, {
    get(target, prop) {
      if (prop === 'query') {
        return (sql: string | { text: string }, ...rest: unknown[]) => {
          const fault = broken(typeof sql === 'string' ? sql : sql.text);
          if (fault === 'fail') return Promise.reject(new Error('connection refused (simulated)'));
          if (fault === 'hang') return new Promise(() => {});
          return (target.query as (...args: unknown[]) => unknown).call(target, sql, ...rest);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...app.db, pool };
}

describe('liveness and readiness', () => {
  it('/livez answers without the database; /readyz and /health answer 200 while the database answers', async () => {
    const yoga = serverWith({ db: faultyDatabase(() => 'hang'), readinessTimeoutMs: 100 });
    const live = await ask(yoga, '/livez');
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    for (const path of ['/readyz', '/health']) {
      const started = Date.now();
      const res = await ask(yoga, path);
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await res.json()).toMatchObject({ status: 'unavailable', database: 'down' });
    }
    const healthy = serverWith();
    for (const path of ['/readyz', '/health']) {
      const res = await ask(healthy, path);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', database: 'up', audit: 'ok' });
    }
  });

  it('/readyz answers 503 once the shutdown has begun, /livez still 200', async () => {
    const shutdown = new Shutdown();
    const yoga = serverWith({ shutdown });
    expect((await ask(yoga, '/readyz')).status).toBe(200);
    shutdown.begin();
    const res = await ask(yoga, '/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'shutting_down' });
    expect((await ask(yoga, '/health')).status).toBe(503);
    expect((await ask(yoga, '/livez')).status).toBe(200);
  });
});

describe('request ids and the request log line', () => {
  it('keeps a safe incoming X-Request-Id, replaces an unsafe one, and returns it on every response', async () => {
    const yoga = serverWith();
    const kept = await ask(yoga, '/livez', { headers: { 'x-request-id': 'lb-7f3a.42_x' } });
    expect(kept.headers.get('x-request-id')).toBe('lb-7f3a.42_x');
    for (const unsafe of ['a'.repeat(65), 'id with spaces', '<script>', '"quoted"', 'ünïcode']) {
      const res = await ask(yoga, '/livez', { headers: { 'x-request-id': unsafe } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    const generated = await query(yoga, '{ purposes { key } }');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const notFound = await ask(yoga, '/nowhere', { headers: { 'x-request-id': 'trace-1' } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('x-request-id')).toBe('trace-1');
  });

  it('logs one line per request with client, purpose, operation, status, duration and consent counts, and no personal data', async () => {
    const log = capturedLogger();
    const yoga = serverWith({ logger: log.logger });
    const document = `query ObservedRead($country: String) {
      customers(first: 3, filter: { country: $country }) { totalCount edges { node { id email phone firstName } } }
    }`;
    const res = await query(yoga, document, {
      client: 'analytics-app',
      purpose: 'analytics',
      variables: { country: 'US' },
      headers: { 'x-request-id': 'obs-read-1' },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    const nodes = body.data.customers.edges.map((e: any) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    const refused = await query(yoga, '{ customers(first: 1) { totalCount } }', {
      client: 'analytics-app',
      purpose: 'marketing',
      headers: { 'x-request-id': 'obs-refused-1' },
    });
    expect(refused.status).toBe(403);

    const lines = log.lines();
    const read = lines.filter((l) => l.reqId === 'obs-read-1');
    const requestLines = read.filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({
      level: 30,
      method: 'POST',
      path: '/graphql',
      status: 200,
      client: 'analytics-app',
      purpose: 'analytics',
      operation: 'ObservedRead',
      operationType: 'query',
      subjects: nodes.length,
      maskedFields: body.extensions.consent.maskedFields,
      excludedRows: null,
    });
    expect(typeof requestLines[0].ms).toBe('number');
    expect(lines.find((l) => l.reqId === 'obs-refused-1' && l.msg === 'request')).toMatchObject({
      status: 403,
      client: 'analytics-app',
      purpose: 'marketing',
      errors: ['PURPOSE_NOT_ALLOWED'],
    });

    // Nothing of what the request carried or returned about people: no ids, names, values, variables or document.
    const text = log.text();
    for (const node of nodes) {
      expect(text).not.toContain(node.id);
      if (node.firstName) expect(text).not.toContain(node.firstName);
      if (node.email) expect(text).not.toContain(node.email);
    }
    expect(text).not.toContain('"US"');
    expect(text).not.toContain('customers(first');
  });

  it('puts the request id on every line logged while the request is handled, errors included (as a described `err`)', async () => {
    const log = capturedLogger();
    const failing: Database = {
      ...app.db,
      prisma: new Proxy(app.db.prisma, {
        get(target, prop) {
          if (prop === 'customer') throw new Error('lookup of "CRM-SECRET-0001" failed (simulated)');
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    };
    const yoga = serverWith({ logger: log.logger, db: failing });
    await query(yoga, 'query Broken { consentHistory(subject: { externalId: "CRM-SECRET-0001" }) { action } }', {
      client: 'consent-center',
      purpose: 'consent_management',
      headers: { 'x-request-id': 'obs-error-1' },
    });
    const lines = log.lines();
    const unexpected = lines.filter((l) => l.msg === 'unexpected error');
    expect(unexpected.length).toBeGreaterThan(0);
    for (const line of unexpected) {
      expect(line.reqId).toBe('obs-error-1');
      // A resolver's error is described with the error it wraps, stack frames included.
      expect(line.err).toMatchObject({ type: 'GraphQLError', path: 'consentHistory', cause: { type: 'Error', stack: expect.any(Array) } });
    }
    expect(lines.find((l) => l.msg === 'request' && l.reqId === 'obs-error-1')).toMatchObject({
      operation: 'Broken',
      errors: ['INTERNAL_SERVER_ERROR'],
    });
    expect(log.text()).not.toContain('CRM-SECRET-0001');
  });
});

describe('/metrics', () => {
  async function listen(yoga: Yoga): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('is scraped over HTTP with the bearer token, and holds request, masking, pool, backlog and audit metrics without personal data', async () => {
    const token = 'metrics-token-0123456789';
    const metrics = new Metrics();
    const accessLog = new AccessLog(app.db, pino({ level: 'silent' }), { flushIntervalMs: 20 });
    metrics.attachAccessLog(accessLog);
    metrics.attachDatabase(app.db, pino({ level: 'silent' }));
    const server = await listen(serverWith({ metrics, metricsToken: token, accessLog }));
    try {
      const read = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf('analytics-app')}`, 'x-purpose': 'analytics' },
        body: JSON.stringify({ query: 'query Scraped { customers(first: 2) { edges { node { id email } } } }' }),
      });
      const body = await read.json();
      const ids: string[] = body.data.customers.edges.map((e: any) => e.node.id);
      await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }),
      });

      expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      await vi.waitFor(() => expect(accessLog.pending).toBe(0));
      const scrape = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scrape.status).toBe(200);
      expect(scrape.headers.get('content-type')).toContain('text/plain');
      const text = await scrape.text();
      expect(text).toContain('consentql_requests_total{client="analytics-app",purpose="analytics",outcome="ok"} 1');
      expect(text).toContain('consentql_requests_total{client="anonymous",purpose="none",outcome="UNAUTHENTICATED"} 1');
      expect(text).toMatch(
        /consentql_request_duration_seconds_count\{client="analytics-app",purpose="analytics",operation_type="query"\} 1/,
      );
      expect(text).toContain(
        `consentql_masked_values_total{client="analytics-app",purpose="analytics"} ${body.extensions.consent.maskedFields}`,
      );
      expect(text).toMatch(/consentql_db_pool_connections\{state="total"\} \d+/);
      expect(text).toMatch(/consentql_db_pool_connections\{state="waiting"\} \d+/);
      expect(text).toMatch(/consentql_propagation_backlog\{queue="outbox"\} \d+/);
      expect(text).toMatch(/consentql_propagation_backlog\{queue="deliveries"\} \d+/);
      expect(text).toContain('consentql_access_records_written_total 1');
      expect(text).toContain('consentql_access_records_pending 0');
      expect(text).toContain('# TYPE consentql_webhook_delivery_lag_seconds histogram');
      expect(text).toContain('# TYPE consentql_webhook_dead_letters_total counter');
      expect(text).toContain('# TYPE consentql_consent_writes_total counter');
      for (const id of ids) expect(text).not.toContain(id);
    } finally {
      await server.close();
    }
  });

  it('does not exist on the API port without a token', async () => {
    const res = await ask(serverWith({ metrics: new Metrics() }), '/metrics');
    expect(res.status).toBe(404);
  });
});

describe('access records in batches', () => {
  it('writes concurrent reads in batches, one record each', async () => {
    const operation = `BatchProbe${Date.now()}`;
    const statements: string[] = [];
    const counting = faultyDatabase((sql) => {
      if (/INSERT INTO access_record/.test(sql)) statements.push(sql);
      return null;
    });
    const accessLog = new AccessLog(counting, pino({ level: 'silent' }), { flushIntervalMs: 50, batchSize: 100 });
    const yoga = serverWith({ accessLog });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        query(yoga, `query ${operation} { customers(first: 1) { edges { node { id } } } }`, {
          client: 'support-chatbot',
          purpose: 'support',
        }),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await accessLog.close();
    const { rows } = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM access_record WHERE operation = $1', [
      operation,
    ]);
    expect(rows[0].n).toBe(20);
    expect(statements.length).toBeLessThan(20);
  });

  it('keeps records while the database refuses them and, at the bound, refuses new reads (503) instead of dropping any', async () => {
    const operation = `BacklogProbe${Date.now()}`;
    let down = true;
    const log = capturedLogger();
    const flaky = faultyDatabase((sql) => (down && /INSERT INTO access_record/.test(sql) ? 'fail' : null));
    const accessLog = new AccessLog(flaky, log.logger, { flushIntervalMs: 10, batchSize: 2, maxQueue: 3 });
    const yoga = serverWith({ accessLog });
    const read = () =>
      query(yoga, `query ${operation} { customers(first: 1) { edges { node { id } } } }`, {
        client: 'support-chatbot',
        purpose: 'support',
      });
    for (let i = 0; i < 3; i++) expect((await read()).status).toBe(200);
    expect(accessLog.pending).toBe(3);
    const refused = await read();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await refused.json()).errors[0].extensions).toMatchObject({ code: 'CONSENT_UNAVAILABLE', reason: 'AUDIT_BACKLOG' });
    // Requests that read no personal data still pass; readiness says the instance should get no traffic.
    expect((await query(yoga, '{ purposes { key } }')).status).toBe(200);
    expect((await ask(yoga, '/readyz')).status).toBe(503);
    expect(log.lines().some((l) => l.level === 50 && /access records/.test(l.msg) && l.pending === 3)).toBe(true);

    down = false;
    await vi.waitFor(() => expect(accessLog.pending).toBe(0));
    expect((await read()).status).toBe(200);
    await accessLog.close();
    const { rows } = await app.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM access_record WHERE operation = $1', [
      operation,
    ]);
    expect(rows[0].n).toBe(4);
  });

  it('logs what it could not write at close, with the count', async () => {
    const log = capturedLogger();
    const accessLog = new AccessLog(
      faultyDatabase(() => 'fail'),
      log.logger,
      { flushIntervalMs: 10 },
    );
    accessLog.record({
      clientId: null,
      purposeKey: 'support',
      operation: 'Lost',
      subjects: [{ subjectId: '00000000-0000-0000-0000-000000000001', returned: [], masked: [] }],
      fieldsMasked: 0,
      rowsExcluded: null,
    });
    expect(await accessLog.close(100)).toEqual({ unwritten: 1 });
    const line = log.lines().find((l) => /before shutdown/.test(l.msg));
    expect(line).toMatchObject({ level: 50, unwritten: 1 });
    expect(log.text()).not.toContain('00000000-0000-0000-0000-000000000001');
  });
});

describe('errors in the process log', () => {
  it('are described, not dumped: a PostgreSQL error loses the row it quotes', async () => {
    const { LOG_SERIALIZERS } = await import('../../src/app.ts');
    // The process logger's serializers (createLogger), over a capturing destination.
    const { logger, text } = capturedLogger({ level: 'info', serializers: LOG_SERIALIZERS });
    const failed = Object.assign(new Error('duplicate key value violates unique constraint "customer_email_key"'), {
      code: '23505',
      detail: 'Key (email)=(alice@example.com) already exists.',
    });
    logger.error({ err: failed }, 'a write failed');
    logger.warn({ error: failed }, 'again');
    const out = text();
    expect(out).toContain('23505');
    expect(out).not.toContain('alice@example.com');
    expect(out).not.toContain('Key (email)');
  });
});
