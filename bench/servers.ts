// The server processes `npm run bench` measures, each its own process so that
// its CPU time and RSS are its own: the four variants (bench/server.ts,
// variants.ts), the real server with its background workers (src/main.ts), and
// `npm start`'s command on the embedded database.
import type { Target } from './database.ts';
import { freePort, graphqlUrl, startChild, TSX, type Child } from './children.ts';
import { sleep } from './lib.ts';
import { load, type LoadResult } from './load.ts';
import { BODY, HEADERS, HMAC_KEYS, PROOF_KEY } from './settings.ts';
import type { Variant } from './variants.ts';

const PRODUCTION = { NODE_ENV: 'production', CONSENTQL_HMAC_KEYS: HMAC_KEYS, CONSENTQL_PROOF_KEY: PROOF_KEY };

/** One of the variants, on the benchmark database. */
export function startVariant(target: Target, variant: Variant): Promise<Child> {
  return startChild(
    process.execPath,
    ['--import', 'tsx', 'bench/server.ts'],
    { ...target.env(variant), ...PRODUCTION, BENCH_VARIANT: variant, PORT: '0', LOG_LEVEL: 'warn' },
    (out) => Number(/READY (\d+)/.exec(out)?.[1]) || undefined,
  );
}

/** The real server (src/main.ts, with its background workers) on the benchmark database. */
export async function startApi(target: Target, env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  return startChild(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts'],
    { ...target.env('api'), ...PRODUCTION, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), ...env },
    (out) => (/ConsentQL ready/.test(out) ? port : undefined),
  );
}

/** `npm start`'s command (tsx src/main.ts) on the embedded database; ms from spawn to the first 200 from /health. */
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
  const child = await startChild(TSX, ['src/main.ts'], { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn' }, () =>
    healthy ? port : undefined,
  );
  await polling;
  return { child, ms: performance.now() - t0 };
}

/** Checks that a server answers the benchmark query, and what it masks. */
export async function verify(c: Child, variant: string): Promise<{ masked: number; sampleEmail: string }> {
  const res = await fetch(graphqlUrl(c), { method: 'POST', headers: HEADERS, body: BODY });
  const body = (await res.json()) as { errors?: unknown[]; data?: any; extensions?: any };
  if (body.errors || body.data?.customers?.edges?.length !== 100) {
    throw new Error(`${variant}: the benchmark query failed: ${JSON.stringify(body).slice(0, 600)}`);
  }
  return { masked: body.extensions?.consent?.maskedFields ?? 0, sampleEmail: body.data.customers.edges[0].node.email };
}

/** The benchmark query under load; a failed request fails the run, with the server's output. */
export async function loadServer(c: Child, connections: number, seconds: number): Promise<LoadResult> {
  const r = await load({ url: graphqlUrl(c), headers: HEADERS, body: BODY, connections, seconds, pid: c.serverPid() });
  if (r.non2xx || r.errors || r.requests === 0) {
    throw new Error(`${r.requests} good responses, ${r.non2xx} non-2xx and ${r.errors} errors from ${graphqlUrl(c)} (exit ${c.proc.exitCode ?? c.proc.signalCode ?? 'none'}):\n${c.output().slice(-2000)}`);
  }
  return r;
}
