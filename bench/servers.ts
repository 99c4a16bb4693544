// The server processes `npm run bench` measures, each its own process so that
// its CPU time and RSS are its own: the four variants (bench/server.ts,
// variants.ts), the real server with its background workers (src/main.ts), and
// `npm start`'s command on the embedded database.
import type { Target } from './database.ts';
import { freePort, graphqlUrl, startChild, type Child } from './children.ts';
import { sleep } from './lib.ts';
import { load, type LoadResult } from './load.ts';
import { ADMIN, BODY, HEADERS, HMAC_KEYS, PAGE_SIZE, PROOF_KEY } from './settings.ts';
import type { Variant } from './variants.ts';

/**
 * The bench measures what a request costs, not a limiter: a per-client rate limit
 * (where the server has one) would cap the load runs and the 100 changes/s of
 * section 3, all sent by one client. Unknown to a server without one.
 */
export const UNLIMITED = { CONSENTQL_RATE_LIMIT: 'off' };
/**
 * Production settings of every server of the run. CONSENTQL_EMBEDDED_IN_PRODUCTION matters only
 * when no PostgreSQL is reachable and the bench falls back, with a note, to embedded copies.
 */
export const PRODUCTION = {
  NODE_ENV: 'production',
  CONSENTQL_HMAC_KEYS: HMAC_KEYS,
  CONSENTQL_PROOF_KEY: PROOF_KEY,
  CONSENTQL_EMBEDDED_IN_PRODUCTION: '1',
  ...UNLIMITED,
};

/** One of the variants, on the benchmark database. */
export function startVariant(target: Target, variant: Variant): Promise<Child> {
  return startChild(
    process.execPath,
    ['bench/server.ts'],
    { ...target.env(variant), ...PRODUCTION, BENCH_VARIANT: variant, PORT: '0', LOG_LEVEL: 'warn' },
    (out) => Number(/READY (\d+)/.exec(out)?.[1]) || undefined,
  );
}

/**
 * The real server (src/main.ts, with its background workers) on the benchmark database.
 * With NODE_ENV=development: the benchmark database holds the demo clients (the seed writes
 * them, and the bench acts as them), whose published keys a production start may refuse.
 * On this path NODE_ENV changes only GraphiQL and the start-up log; the HMAC and proof keys
 * are set as in production, so pseudonyms are those of the other servers of the run.
 * Webhooks go to the bench's receiver on 127.0.0.1, which a server may refuse as a target
 * unless it is allowed.
 */
export async function startApi(target: Target, env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  return startChild(
    process.execPath,
    ['src/main.ts'],
    {
      ...target.env('api'),
      ...PRODUCTION,
      NODE_ENV: 'development',
      CONSENTQL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: String(port),
      ...env,
    },
    (out) => (/ConsentQL ready/.test(out) ? port : undefined),
  );
}

/** The floor (bench/floor.ts): one SQL statement and JSON.stringify over node:http, on the benchmark's PostgreSQL. */
export function startFloor(target: Target): Promise<Child> {
  return startChild(
    process.execPath,
    ['bench/floor.ts'],
    { ...target.env('floor'), NODE_ENV: 'production', PORT: '0' },
    (out) => Number(/READY (\d+)/.exec(out)?.[1]) || undefined,
  );
}

/** `npm start`'s command (node src/main.ts) on the embedded database; ms from spawn to the first 200 from /health. */
export async function startEmbedded(dataDir: string): Promise<{ child: Child; ms: number }> {
  const port = await freePort();
  const t0 = performance.now();
  let healthy = false;
  const poll = async () => {
    while (!healthy) {
      try {
        healthy = (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
      } catch {}
      if (!healthy) await sleep(25);
    }
  };
  const polling = poll();
  const child = await startChild(
    process.execPath,
    ['src/main.ts'],
    { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn', ...UNLIMITED },
    () => (healthy ? port : undefined),
  );
  await polling;
  return { child, ms: performance.now() - t0 };
}

/**
 * Checks that a server answers the benchmark query with a full page, and what it
 * masks. Every purpose now reads only the subjects it has a legal basis for (in
 * SQL, on the baseline too), so a page is full only while the data set holds
 * enough of them: a short page would compare servers doing less work.
 */
export async function verify(c: Child, variant: string): Promise<{ masked: number; sampleEmail: string; ids: string[] }> {
  const res = await fetch(graphqlUrl(c), { method: 'POST', headers: HEADERS, body: BODY });
  const body = (await res.json()) as { errors?: unknown[]; data?: any; extensions?: any };
  if (body.errors || body.data?.customers?.edges?.length !== PAGE_SIZE) {
    throw new Error(`${variant}: the benchmark query did not return a full page of ${PAGE_SIZE}: ${JSON.stringify(body).slice(0, 600)}`);
  }
  const edges = body.data.customers.edges as { node: { id: string; email: string } }[];
  return { masked: body.extensions?.consent?.maskedFields ?? 0, sampleEmail: edges[0].node.email, ids: edges.map((e) => e.node.id) };
}

/** How many customers the benchmark's purpose may process, of how many: counted by the admin, who may see `excludedRows`. */
export async function permittedCount(c: Child): Promise<{ permitted: number; excluded: number | null }> {
  const res = await fetch(graphqlUrl(c), {
    method: 'POST',
    headers: { ...HEADERS, authorization: ADMIN, 'x-consent-explain': '1' },
    body: JSON.stringify({ query: '{ customers(first: 0) { totalCount } }' }),
  });
  const body = (await res.json()) as { errors?: unknown[]; data?: any; extensions?: any };
  if (body.errors || typeof body.data?.customers?.totalCount !== 'number')
    throw new Error(`counting permitted customers failed: ${JSON.stringify(body).slice(0, 400)}`);
  return { permitted: body.data.customers.totalCount, excluded: body.extensions?.consent?.excludedRows ?? null };
}

/** `n` benchmark requests, one at a time: warms a fresh server up before it is measured. */
export async function warmUp(c: Child, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(graphqlUrl(c), { method: 'POST', headers: HEADERS, body: BODY });
    if (!res.ok) throw new Error(`warming up ${graphqlUrl(c)}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
    await res.arrayBuffer();
  }
}

/** The benchmark query under load; a failed request fails the run, with the server's output. */
export async function loadServer(c: Child, connections: number, seconds: number, body = BODY): Promise<LoadResult> {
  const r = await load({ url: graphqlUrl(c), headers: HEADERS, body, connections, seconds, pid: c.serverPid() });
  if (r.non2xx || r.errors || r.requests === 0) {
    throw new Error(
      `${r.requests} good responses, ${r.non2xx} non-2xx and ${r.errors} errors from ${graphqlUrl(c)} (exit ${c.proc.exitCode ?? c.proc.signalCode ?? 'none'}):\n${c.output().slice(-2000)}`,
    );
  }
  return r;
}
