import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';
import { keyOf } from '../support/app.ts';

// Real server processes (`src/main.ts`) and delivery workers (`src/worker.ts`)
// against a scratch PostgreSQL database of a test's own, and a webhook
// receiver that records every arrival (duplicates included).

export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Proc {
  /** The GraphQL URL (API) or the health URL (worker). */
  url: string;
  child: ChildProcess;
  log(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

function start(script: string, env: Record<string, string>, ready: RegExp, transform: (match: string) => string): Promise<Proc> {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: {
      ...process.env,
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
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return new Promise<Proc>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within 45 s:\n${log}`)), 45_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = ready.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({ url: transform(match[1]), child, log: () => log, exit });
      }
    });
    void exit.then(({ code, signal }) => reject(new Error(`${script} exited (${code ?? signal}):\n${log}`)));
  });
}

export function startApi(databaseUrl: string, env: Record<string, string> = {}): Promise<Proc> {
  return start('src/main.ts', { DATABASE_URL: databaseUrl, ...env }, /ConsentQL ready: GraphiQL at (http:\/\/\S+?)"/, (url) =>
    url.replace('localhost', '127.0.0.1'),
  );
}

export function startWorker(databaseUrl: string, env: Record<string, string> = {}): Promise<Proc> {
  return start(
    'src/worker.ts',
    { DATABASE_URL: databaseUrl, CONSENTQL_WORKER_PORT: '0', ...env },
    /ConsentQL worker ready: health at (http:\/\/\S+?)\/health"/,
    (url) => url,
  );
}

export async function stopProc(proc: Proc, signal: NodeJS.Signals = 'SIGTERM') {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exit;
  proc.child.kill(signal);
  return proc.exit;
}

export function killAll() {
  for (const child of running) child.kill('SIGKILL');
}

export async function graphql(
  api: Proc,
  query: string,
  variables: Record<string, unknown>,
  client: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(client)}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as any;
}

/** A database of the test's own next to TEST_DATABASE_URL's, migrated, with purposes and demo clients but no customers. */
export async function scratchDatabase(external: string, name: string) {
  const scratch = `${name}_${process.pid}`;
  const run = async (sql: string) => {
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
  await run(`CREATE DATABASE ${scratch}`);
  const url = new URL(external);
  url.pathname = `/${scratch}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 3 });
  await migrate(pool);
  await syncPurposes(pool);
  await seed(pool, { customers: 0 });
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await run(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    },
  };
}

/** `n` customers in Germany (GDPR: marketing needs an opt-in), by id. */
export async function newSubjects(pool: pg.Pool, n: number): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO customer (id, external_id, email, first_name, last_name, country, updated_at)
     SELECT gen_random_uuid(), 'TEST-' || gen_random_uuid(), gen_random_uuid() || '@consentql.test', 'Subject', 'N' || i, 'DE', now()
       FROM generate_series(1, $1) AS i
     RETURNING id`,
    [n],
  );
  return rows.map((r) => r.id);
}

export interface Arrival {
  id: string;
  at: number;
  body: string;
  headers: Record<string, string>;
}

/** A webhook endpoint that answers 204 after `delayMs`, and keeps every arrival. */
export async function startSlowReceiver(delayMs: number) {
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      arrivals.push({ id: String(req.headers['webhook-id']), at: Date.now(), body, headers: req.headers as Record<string, string> });
      setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    arrivals,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Whether a NATS server answers at `url` (a TCP connect within a second). */
export function natsAnswers(url: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port || 4222) });
    socket.setTimeout(1000);
    const answer = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => answer(true));
    socket.once('error', () => answer(false));
    socket.once('timeout', () => answer(false));
  });
}
