import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';
import { inject } from 'vitest';
import { keyOf } from '../support/app.ts';
import { emptyDatabase, type ScratchDatabase } from '../support/scratch.ts';

// Real server processes (src/main.ts) and real signals: what happens to the
// requests, streams and access records of a server told to stop.

const root = path.resolve(import.meta.dirname, '../..');
const running = new Set<ChildProcess>();
let scratch: ScratchDatabase;

beforeAll(async () => {
  scratch = await emptyDatabase('consentql_lifecycle');
  const pool = new pg.Pool({ connectionString: scratch.url, max: 1 });
  try {
    await migrate(pool);
    await syncPurposes(pool);
    // The demo clients and the named personas: enough to read.
    await seed(pool, { customers: 0 });
  } finally {
    await pool.end();
  }
}, 120_000);

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await scratch?.drop();
});

interface Server {
  child: ChildProcess;
  url: string;
  port: number;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServer(env: Record<string, string> = {}, ready = /ConsentQL ready: GraphiQL at (http:\/\/\S+?)"/): Promise<Server> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: scratch.url,
      // PGlite behind a socket keeps one connection apart at a time (src/db/database.ts).
      ...(inject('databaseKind') === 'pglite' ? { DATABASE_POOL_SIZE: '1' } : {}),
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close': exited, and its output read to the end.
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${log}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = ready.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace('localhost', '127.0.0.1'));
      }
    });
    void exited.then(({ code }) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { child, url, port: Number(new URL(url).port), log: () => log, exited };
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A request whose body arrives in two parts: the server has its headers and
 * half its body (it is in flight) until `finish()` sends the rest.
 */
function slowRequest(server: Server, body: string, headers: Record<string, string>) {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  let answered = false;
  const request = http.request({
    host: '127.0.0.1',
    port: server.port,
    path: '/graphql',
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': String(bytes.length), ...headers },
  });
  const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
    request.once('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
      res.on('error', reject);
    });
    request.once('error', reject);
  });
  request.write(bytes.subarray(0, half));
  return {
    response,
    answered: () => answered,
    finish: () => request.end(bytes.subarray(half)),
  };
}

const reader = { 'content-type': 'application/json', authorization: `Bearer ${keyOf('support-chatbot')}`, 'x-purpose': 'support' };

async function accessRecords(operation: string): Promise<number> {
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM access_record WHERE operation = $1', [operation]);
    return rows[0].n;
  } finally {
    await client.end();
  }
}

describe('SIGTERM', () => {
  it('refuses new connections, ends subscription streams, answers the requests in flight, writes every access record and exits 0', async () => {
    // Records wait two seconds in memory: those of the last requests are written by the shutdown's flush.
    const server = await startServer({ CONSENTQL_AUDIT_FLUSH_INTERVAL: '2000', CONSENTQL_SHUTDOWN_TIMEOUT: '15000' });
    const tag = `${process.pid}_${Date.now()}`;
    const LOAD = `LifecycleLoad_${tag}`;
    const SLOW = `LifecycleSlow_${tag}`;

    // A live subscription over server-sent events.
    const sse = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${keyOf('email-platform-sync')}`,
        'x-purpose': 'marketing',
      },
      body: JSON.stringify({ query: 'subscription { consentChanged { cursor } }' }),
    });
    expect(sse.status).toBe(200);
    const stream = (async () => {
      let text = '';
      const decoder = new TextDecoder();
      const body = sse.body!.getReader();
      for (;;) {
        const { done, value } = await body.read();
        if (done) return text;
        text += decoder.decode(value, { stream: true });
      }
    })();

    // Load: clients reading in a loop until the server goes away.
    let answered = 0;
    let failedAfterAnswer = 0;
    let stopLoad = false;
    const worker = async () => {
      while (!stopLoad) {
        let response: Response;
        try {
          response = await fetch(server.url, {
            method: 'POST',
            headers: reader,
            body: JSON.stringify({ query: `query ${LOAD} { customers(first: 2) { edges { node { id firstName } } } }` }),
          });
        } catch {
          return; // refused or closed before an answer: never answered, nothing to record
        }
        const body = await response.json().catch(() => null);
        if (response.status === 200 && body?.extensions?.consent?.purpose === 'support') answered += 1;
        else failedAfterAnswer += 1;
      }
    };
    const load = Array.from({ length: 6 }, worker);
    await until(() => answered >= 30, 30_000, 'the load to get going');

    // Requests in flight: headers and half a body received.
    const slow = Array.from({ length: 3 }, () =>
      slowRequest(server, JSON.stringify({ query: `query ${SLOW} { customers(first: 1) { edges { node { firstName } } } }` }), reader),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    server.child.kill('SIGTERM');
    // The listening socket closes at once, while the slow requests still wait for their bodies.
    await until(() => refused(server.port), 5_000, 'new connections to be refused');
    expect(server.child.exitCode).toBeNull();
    expect(slow.some((s) => s.answered())).toBe(false);
    // The subscription stream is ended by the server (not cut): Yoga's `complete` event.
    const streamed = await stream;
    expect(streamed).toContain('event: complete');

    stopLoad = true;
    await Promise.all(load);
    for (const s of slow) s.finish();
    const slowAnswers = await Promise.all(slow.map((s) => s.response));
    for (const answer of slowAnswers) {
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.extensions.consent.purpose).toBe('support');
    }

    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(await refused(server.port)).toBe(true);
    expect(server.log()).toMatch(/"msg":"shutting down"/);
    expect(server.log()).toMatch(/"msg":"stopped"/);
    expect(failedAfterAnswer).toBe(0);

    // Every answered read has its access record: none lost in memory at shutdown.
    expect(await accessRecords(LOAD)).toBe(answered);
    expect(await accessRecords(SLOW)).toBe(3);
  }, 120_000);

  it('closes the connections of requests still in flight at the shutdown deadline, then exits 0', async () => {
    const server = await startServer({ CONSENTQL_SHUTDOWN_TIMEOUT: '1000' });
    const stuck = slowRequest(server, JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }), reader);
    stuck.response.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(server.log()).toContain('requests still in flight at the shutdown deadline');
    await expect(stuck.response).rejects.toThrow();
  }, 90_000);

  it('exits at once on a second signal', async () => {
    const server = await startServer({ CONSENTQL_SHUTDOWN_TIMEOUT: '60000' });
    const stuck = slowRequest(server, JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }), reader);
    stuck.response.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.child.kill('SIGTERM');
    await until(() => refused(server.port), 5_000, 'the shutdown to begin');
    const signalled = Date.now();
    server.child.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(server.log()).toContain('second signal');
  }, 90_000);
});

describe('a production start', () => {
  it('says where the API is, not GraphiQL (which production does not serve), and stops on SIGTERM', async () => {
    // Production refuses a database holding the demo clients: an empty one of its own, migrated on start.
    const empty = await emptyDatabase('consentql_lifecycle_production');
    try {
      const server = await startServer(
        {
          DATABASE_URL: empty.url,
          NODE_ENV: 'production',
          CONSENTQL_PROOF_KEY: 'p'.repeat(40),
          CONSENTQL_HMAC_KEYS: `k1:${'s'.repeat(40)}`,
        },
        /ConsentQL ready: API at (http:\/\/\S+?)"/,
      );
      expect(server.log()).not.toContain('GraphiQL');
      const page = await fetch(server.url, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('GraphiQL');
      expect((await fetch(server.url.replace('/graphql', '/livez'))).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    } finally {
      await empty.drop();
    }
  }, 90_000);
});

describe('fatal errors', () => {
  /** A process with the server's handlers installed that then fails as `failure` says. */
  async function failing(failure: string) {
    const script = `
      import pino from 'pino';
      import { installProcessHandlers } from './src/lifecycle.ts';
      installProcessHandlers({ logger: pino(), shutdown: async () => {}, flush: async () => { console.log('flushed'); } });
      setTimeout(() => { ${failure} }, 10);
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    running.delete(child);
    return { code, out };
  }

  it('an uncaught exception is logged (with its stack, as err) and the process exits 1 after flushing', async () => {
    const { code, out } = await failing(`throw new Error('boom');`);
    expect(code).toBe(1);
    const fatal = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.level === 60);
    expect(fatal).toMatchObject({
      msg: expect.stringContaining('uncaught exception'),
      err: { message: 'boom', stack: expect.stringContaining('Error: boom') },
    });
    expect(out).toContain('flushed');
  }, 30_000);

  it('an unhandled rejection too', async () => {
    const { code, out } = await failing(`Promise.reject(new Error('lost'));`);
    expect(code).toBe(1);
    expect(out).toContain('unhandled promise rejection');
    expect(out).toContain('flushed');
  }, 30_000);
});
