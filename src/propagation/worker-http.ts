import { bearerMatches } from '../http/metrics.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// A worker's only HTTP surface, for its orchestrator: liveness, readiness and
// (where a metrics module plugs itself in) metrics. No personal data, no
// GraphQL; bind it where only the orchestrator reaches it.
//
//   GET /livez         200 while the process runs (restart it when this fails)
//   GET /readyz        200 once it delivers and the database answers; 503 while
//   GET /health        starting, waiting for migrations, draining or cut off
//   GET /metrics       whatever `metrics` returns; 404 without it

// The same paths as an API instance's (src/http/health.ts).
export const WORKER_PATHS = { live: '/livez', ready: '/readyz', health: '/health', metrics: '/metrics' } as const;

export interface Readiness {
  ready: boolean;
  /** Why not, or what it is doing: "starting", "waiting for migrations", "delivering", "draining", "database unreachable". */
  state: string;
  [detail: string]: unknown;
}

export interface WorkerHttpOptions {
  host: string;
  port: number;
  readiness(): Promise<Readiness>;
  /** The hook for a metrics module (e.g. Prometheus text); absent: /metrics is 404. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** When set, /metrics answers only `Authorization: Bearer <token>` (CONSENTQL_METRICS_TOKEN). */
  metricsToken?: string;
}

export interface WorkerHttp {
  url: string;
  close(): Promise<void>;
}

export async function serveWorkerHttp(options: WorkerHttpOptions): Promise<WorkerHttp> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, contentType = 'application/json') => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'GET only' });
    if (path === WORKER_PATHS.live) return send(200, { live: true });
    if (path === WORKER_PATHS.ready || path === WORKER_PATHS.health) {
      options.readiness().then(
        (r) => send(r.ready ? 200 : 503, r),
        () => send(503, { ready: false, state: 'readiness check failed' }),
      );
      return;
    }
    if (path === WORKER_PATHS.metrics && options.metrics) {
      if (options.metricsToken && !bearerMatches(req.headers.authorization ?? null, options.metricsToken)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
        return;
      }
      options.metrics().then(
        (m) => send(200, m.body, m.contentType),
        () => send(500, { error: 'metrics failed' }),
      );
      return;
    }
    send(404, {
      error: `not found; this worker serves ${Object.values(WORKER_PATHS)
        .filter((p) => p !== WORKER_PATHS.metrics || options.metrics)
        .join(', ')}`,
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
