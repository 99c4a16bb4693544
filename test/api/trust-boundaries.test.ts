import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashIp } from '../../src/consent/proof.ts';
import type { Database } from '../../src/db/database.ts';
import { parseHmacKeys } from '../../src/masking/keyring.ts';
import { startPropagation, type Propagation } from '../../src/propagation/index.ts';
import { createServer } from '../../src/server.ts';
import { clientAddress, TrustedProxies } from '../../src/http/trusted-proxies.ts';
import { createFormToken, createLinkToken, linkExpiry } from '../../src/web/links.ts';
import { createSubject, GRANT } from '../consent/support.ts';
import { capturedLogger } from '../support/logs.ts';
import { createTestApp, keyOf, testConfig, testMasker, testPropagationOptions, type TestApp } from '../support/app.ts';

// What the API trusts from a caller and what it gives away: forwarded
// addresses, body sizes, CORS, open subscriptions, error details and logs,
// unknown routes (issue 9, findings 2, 8 and 9).

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

type Yoga = ReturnType<typeof createServer>;

/** A server of our own on the test database, with these settings and this logger. */
function serverWith(
  env: Record<string, string> = {},
  logger = pino({ level: 'silent' }),
  db: Database = app.db,
  propagation?: Propagation,
): Yoga {
  return createServer({ config: testConfig(env), db, logger, ...(propagation ? { propagation } : {}) });
}

/** The same server on a real loopback socket, so that the peer address is real. */
async function listen(yoga: Yoga): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const recorder = {
  'content-type': 'application/json',
  authorization: `Bearer ${keyOf('consent-center')}`,
  'x-purpose': 'consent_management',
};
const grantBody = (subjectId: string) =>
  JSON.stringify({
    query: GRANT,
    variables: { input: { subject: { id: subjectId }, purposes: ['analytics'], source: 'API', noticeVersion: 'v1' } },
  });

/** A request body of `total` bytes, produced on demand, counting what was read of it. */
function lazyBody(total: number, chunk = 16 * 1024) {
  let pulled = 0;
  const bytes = new TextEncoder().encode('a'.repeat(chunk));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += bytes.byteLength;
      controller.enqueue(bytes);
    },
  });
  return { stream, pulled: () => pulled };
}

describe('the proof-of-consent address trusts X-Forwarded-For only from configured proxies', () => {
  it('decides the client address from the peer and the trusted part of the forwarded chain', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
    const from = (peer: string | undefined, forwarded?: string) =>
      clientAddress(new Headers(forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }), peer, trusted);
    expect(from('203.0.113.5', '198.51.100.1')).toBe('203.0.113.5'); // not a proxy of ours: the header is ignored
    expect(from('::ffff:203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
    expect(from('10.1.1.1', '198.51.100.1')).toBe('198.51.100.1');
    expect(from('::ffff:10.1.1.1', '198.51.100.66, 198.51.100.1, 192.0.2.1')).toBe('198.51.100.1'); // the client wrote the first entry
    expect(from('2001:db8::7', '[2001:db8:1::2]:443, 203.0.113.8:5000')).toBe('203.0.113.8');
    expect(from('10.1.1.1', '10.2.2.2, 192.0.2.1')).toBe('10.2.2.2'); // all ours: the furthest
    expect(from('10.1.1.1')).toBe('10.1.1.1');
    expect(from('10.1.1.1', '198.51.100.1, unknown')).toBeNull(); // not an address where we would rely on one
    expect(from(undefined, '198.51.100.1')).toBeNull(); // no socket (not served by node:http): no address at all
    expect(clientAddress(new Headers({ 'x-forwarded-for': '198.51.100.1' }), '127.0.0.1', new TrustedProxies([]))).toBe('127.0.0.1');
  });

  it('hashes the socket peer, not a forwarded address sent by anyone', async () => {
    const server = await listen(serverWith());
    try {
      const subject = await createSubject(app.db, { country: 'DE' });
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { ...recorder, 'x-forwarded-for': '203.0.113.7' },
        body: grantBody(subject.id),
      });
      const body = await res.json();
      expect(body.errors).toBeUndefined();
      expect(body.data.grantConsent.events[0].ipHash).toBe(hashIp('127.0.0.1', testConfig().keys.proof));
    } finally {
      await server.close();
    }
  });

  it('behind a trusted proxy, takes the right-most forwarded address that is not itself a trusted proxy', async () => {
    const server = await listen(serverWith({ CONSENTQL_TRUSTED_PROXIES: '127.0.0.1,10.0.0.0/8' }));
    try {
      const subject = await createSubject(app.db, { country: 'DE' });
      // The client made up the first entry; our proxies appended the last two.
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { ...recorder, 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.1.2.3' },
        body: grantBody(subject.id),
      });
      const body = await res.json();
      expect(body.errors).toBeUndefined();
      expect(body.data.grantConsent.events[0].ipHash).toBe(hashIp('203.0.113.7', testConfig().keys.proof));
    } finally {
      await server.close();
    }
  });

  it('does the same on the consent center page', async () => {
    const keyring = parseHmacKeys(undefined, { production: false });
    const cases: [string[], string][] = [
      [[], '127.0.0.1'],
      [['127.0.0.1'], '203.0.113.9'],
    ];
    for (const [trustedProxies, expected] of cases) {
      const server = await listen(serverWith({ CONSENTQL_TRUSTED_PROXIES: trustedProxies.join(',') }));
      try {
        const subject = await createSubject(app.db, { country: 'FR' });
        const form = new URLSearchParams({
          token: createLinkToken(keyring, subject.id, linkExpiry(new Date(), 1)),
          form: createFormToken(keyring, subject.id),
          purpose: 'analytics',
          action: 'GRANT',
        });
        const res = await fetch(`${server.url}/consent-center`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.1, 203.0.113.9' },
          body: form.toString(),
        });
        expect(res.status).toBe(303);
        const [event] = await app.db.prisma.consentEvent.findMany({ where: { customerId: subject.id }, select: { ipHash: true } });
        expect(event.ipHash).toBe(hashIp(expected, testConfig().keys.proof));
      } finally {
        await server.close();
      }
    }
  });
});

describe('request bodies are limited while they stream', () => {
  const LIMIT = 100_000;

  it('refuses a GraphQL body above the limit with 413 PAYLOAD_TOO_LARGE, from its Content-Length', async () => {
    const query = `{ purposes { key } } # ${'x'.repeat(LIMIT)}`;
    const res = await app.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(413);
    const body = await res.json();
    expect(body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0].message).toMatch(/100,000 bytes/);
  });

  it('refuses a chunked GraphQL body (no Content-Length) as soon as it passes the limit, without reading the rest', async () => {
    const body = lazyBody(20_000_000);
    const res = await app.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body.stream,
      // @ts-expect-error Node's fetch needs this for a streamed body.
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect((await res.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.pulled()).toBeLessThan(1_000_000);
  });

  it('refuses a body longer than its Content-Length says', async () => {
    const body = lazyBody(20_000_000);
    const res = await serverWith().fetch(
      new Request('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '20' },
        body: body.stream,
        // @ts-expect-error Node's fetch needs this for a streamed body.
        duplex: 'half',
      }),
    );
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(1_000_000);
  });

  it('refuses a malformed Content-Length with 400 BAD_REQUEST before reading the body', async () => {
    for (const declared of ['abc', '-1', '20, 20']) {
      const res = await serverWith().fetch(
        new Request('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': declared },
          body: '{"query":"{ purposes { key } }"}',
        }),
      );
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(body.errors[0].message).toContain(JSON.stringify(declared));
    }
  });

  it('over a real socket, a body ends where its Content-Length says: the bytes after it are the next request', async () => {
    const server = await listen(serverWith({ CONSENTQL_MAX_BODY_BYTES: '1000' }));
    try {
      const { port } = new URL(server.url);
      const json = '{"query":"{ purposes { key } }"}';
      const head = (length: number) =>
        `POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => {
          // A body within the limit, then 200 kB more on the same connection (200 times the limit).
          socket.end(head(json.length) + json + head(200_000) + 'x'.repeat(200_000));
        });
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', (error) => (text ? resolve(text) : reject(error)));
      });
      // The declared body is the first request, answered; the rest is a second request, refused on its own.
      expect(reply).toMatch(/^HTTP\/1\.1 200 /);
      expect(reply).toContain('"purposes"');
      expect(reply).toMatch(/HTTP\/1\.1 413 [\s\S]*PAYLOAD_TOO_LARGE/);
    } finally {
      await server.close();
    }
  });

  it('follows CONSENTQL_MAX_BODY_BYTES', async () => {
    const yoga = serverWith({ CONSENTQL_MAX_BODY_BYTES: '1000' });
    const query = `{ purposes { key } } # ${'x'.repeat(2_000)}`;
    const res = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(413);
    const ok = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ purposes { key } }' }),
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a consent center form above 4 KB with 413 before reading it all', async () => {
    const body = lazyBody(20_000_000);
    const res = await app.fetch('/consent-center', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.stream,
      // @ts-expect-error Node's fetch needs this for a streamed body.
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect((await res.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.pulled()).toBeLessThan(1_000_000);
  });

  it('over a real socket, answers 413 while the client is still sending', async () => {
    const server = await listen(serverWith());
    try {
      const { port } = new URL(server.url);
      const result = await new Promise<{ status: number; sent: number; body: string; connection?: string }>((resolve, reject) => {
        let sent = 0;
        let stop = false;
        const req = http.request(
          { host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            stop = true;
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, sent, body: text, connection: res.headers.connection }));
          },
        );
        req.on('error', (error) => (stop ? undefined : reject(error)));
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const pump = () => {
          while (!stop && sent < 50_000_000) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!stop) req.end();
        };
        pump();
      });
      expect(result.status).toBe(413);
      expect(JSON.parse(result.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      expect(result.sent).toBeLessThan(20_000_000);
      // The server reads no more of it: the connection closes after the answer.
      expect(result.connection).toBe('close');
    } finally {
      await server.close();
    }
  });
});

describe('CORS by allow-list', () => {
  const preflight = (fetcher: (path: string, init?: RequestInit) => Promise<Response>, origin: string) =>
    fetcher('/graphql', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-purpose',
      },
    });

  it('sends no CORS headers by default, whatever the Origin', async () => {
    for (const res of [
      await preflight(app.fetch, 'https://evil.example'),
      await app.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
        body: '{"query":"{ purposes { key } }"}',
      }),
    ]) {
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('answers only the listed origins, without credentials', async () => {
    const yoga = serverWith({ CONSENTQL_CORS_ORIGINS: 'https://app.example,https://admin.example' });
    const fetcher = (path: string, init?: RequestInit) => Promise.resolve(yoga.fetch(new Request(`http://localhost${path}`, init)));
    const allowed = await preflight(fetcher, 'https://admin.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/x-purpose/i);
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    const other = await preflight(fetcher, 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const post = await fetcher('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://app.example' },
      body: '{"query":"{ purposes { key } }"}',
    });
    expect(post.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(post.headers.get('vary')).toMatch(/origin/i);
  });
});

describe('open subscriptions per client', () => {
  let propagation: Propagation;
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    propagation = await startPropagation(
      app.db,
      pino({ level: 'silent' }),
      testMasker(),
      testPropagationOptions({ dispatch: false, pollIntervalMs: 200 }),
    );
    // Over a real socket: a subscription ends when its client disconnects, as in production.
    server = await listen(serverWith({}, undefined, undefined, propagation));
  });
  afterAll(async () => {
    await server.close();
    await propagation.stop();
  });

  const SUBSCRIBE = `subscription { consentChanged { cursor subject action purpose } }`;

  /** A subscription over server-sent events, collecting every result it is sent. */
  async function subscribe(client: string, purpose: string) {
    const abort = new AbortController();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${keyOf(client)}`,
        'x-purpose': purpose,
      },
      body: JSON.stringify({ query: SUBSCRIBE }),
      signal: abort.signal,
    });
    const results: any[] = [];
    void (async () => {
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = /^event: next\ndata: (.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (data) results.push(JSON.parse(data));
        }
      }
    })();
    return { results, close: () => abort.abort() };
  }
  type Subscription = Awaited<ReturnType<typeof subscribe>>;
  /** A refused subscription is answered at once; an open one stays silent until a change. */
  const refusal = async (subscription: Subscription) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Other test files may commit consent changes meanwhile: an event is not a refusal.
    return subscription.results.find((r: any) => r.errors) ?? null;
  };

  it('refuses the 11th with TOO_MANY_SUBSCRIPTIONS, and frees a slot when one closes', async () => {
    const open: Subscription[] = [];
    for (let i = 0; i < 10; i++) open.push(await subscribe('email-platform-sync', 'marketing'));
    for (const subscription of open.slice(-2)) expect(await refusal(subscription)).toBeNull();

    const eleventh = await subscribe('email-platform-sync', 'marketing');
    await vi.waitFor(() => expect(eleventh.results.some((r: any) => r.errors)).toBe(true));
    eleventh.close();
    const refused = eleventh.results.find((r: any) => r.errors);
    expect(refused.errors[0].extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', limit: 10 });
    expect(refused.errors[0].message).toMatch(/10 open subscriptions/);

    // Another client has slots of its own.
    const other = await subscribe('schema-admin', 'consent_management');
    expect(await refusal(other)).toBeNull();
    other.close();

    // The client disconnects from one: its slot is free again.
    open.shift()!.close();
    const again = await vi.waitFor(
      async () => {
        const subscription = await subscribe('email-platform-sync', 'marketing');
        const answer = await refusal(subscription);
        if (answer) {
          subscription.close();
          throw new Error(`still refused: ${JSON.stringify(answer)}`);
        }
        return subscription;
      },
      { timeout: 5_000, interval: 50 },
    );
    // The new subscription is live: it receives the next marketing change.
    const subject = await createSubject(app.db, { country: 'DE' });
    const input = { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
    await app.graphql(GRANT, { client: 'consent-center', purpose: 'consent_management', variables: { input } });
    const pseudonym = testMasker().pseudonym(subject.id, 'marketing');
    await vi.waitFor(() => expect(again.results.map((r) => r.data?.consentChanged?.subject)).toContain(pseudonym), { timeout: 10_000 });
    again.close();
    for (const subscription of open) subscription.close();
  });
});

describe('unexpected errors', () => {
  /** A database whose customer lookups fail inside Prisma, with the value looked up in the error message (as Prisma's do). */
  function failingLookups(db: Database): Database {
    const customer = new Proxy(db.prisma.customer, {
      get(target, prop) {
        if (prop === 'findUnique') {
          return (args: { where: { externalId?: string } }) => db.prisma.customer.findMany({ where: { id: args.where.externalId } });
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const prisma = new Proxy(db.prisma, {
      get(target, prop) {
        if (prop === 'customer') return customer;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { ...db, prisma };
  }

  const QUERY = `query LeakCheck($other: SubjectInput!) {
    a: consentHistory(subject: { externalId: "CRM-LITERAL-0001" }) { action }
    b: consentHistory(subject: $other) { action }
  }`;
  const ask = (yoga: Yoga) =>
    yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { ...recorder, accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: QUERY, variables: { other: { externalId: 'CRM-VARIABLE-0002' } } }),
    });

  it('carry neither message nor stack to the client, even with NODE_ENV=development; logs name the operation, not its text or variables', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    const log = capturedLogger();
    try {
      const res = await ask(serverWith({ NODE_ENV: 'development' }, log.logger, failingLookups(app.db)));
      const text = await res.text();
      const body = JSON.parse(text);
      expect(body.errors).toHaveLength(2);
      for (const error of body.errors) {
        expect(error.message).toBe('Unexpected error.');
        expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
      }
      expect(text).not.toMatch(/CRM-|stack|prisma|at .*\.(ts|js):\d+/i);
    } finally {
      process.env.NODE_ENV = previous;
    }
    const logged = log.text();
    expect(logged).not.toContain('CRM-LITERAL-0001');
    expect(logged).not.toContain('CRM-VARIABLE-0002');
    expect(logged).not.toContain('consentHistory(subject');
    expect(logged).toContain('"operation":"LeakCheck"');
    expect(logged).toContain(`"document":"sha256:${createHash('sha256').update(QUERY).digest('hex').slice(0, 16)}"`);
    expect(logged).toContain('P2007');
  });

  it('carry their message with CONSENTQL_DEBUG_ERRORS=1', async () => {
    const res = await ask(serverWith({ CONSENTQL_DEBUG_ERRORS: '1' }, pino({ level: 'silent' }), failingLookups(app.db)));
    const body = await res.json();
    expect(body.errors[0].message).toBe('Unexpected error.');
    // The two fields fail in either order.
    const originals = JSON.stringify(body.errors.map((e: any) => e.extensions.originalError));
    expect(originals).toContain('CRM-LITERAL-0001');
    expect(originals).toContain('CRM-VARIABLE-0002');
  });
});

describe('unknown routes', () => {
  it('answer 404 with a coded JSON error naming the routes', async () => {
    const res = await app.fetch('/nowhere');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(body.errors[0].message).toContain('/nowhere');
    for (const route of ['/graphql', '/health', '/consent-center']) expect(body.errors[0].message).toContain(route);
  });
});
