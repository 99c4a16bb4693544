import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/database.ts';

// Probes for orchestrators and load balancers:
// - GET /livez: the process is up and its event loop answers. No database:
//   a database outage must not get every instance restarted.
// - GET /readyz: this instance should receive traffic: the database answers
//   `SELECT 1` within `readinessTimeoutMs`, the instance is not shutting down,
//   and its access records are being written (see src/audit/access-log.ts).
// - GET /health: the same as /readyz, kept under its documented name.

export const LIVENESS_PATH = '/livez';
export const READINESS_PATH = '/readyz';
export const HEALTH_PATH = '/health';

export interface HealthOptions {
  db: Database;
  /** Whether the instance is shutting down (readiness then answers 503 at once). */
  shuttingDown?: () => boolean;
  /** Whether access records pile up beyond their bound (readiness then answers 503). */
  auditSaturated?: () => boolean;
  /** The longest the database may take to answer the readiness query, in ms. */
  readinessTimeoutMs?: number;
}

export const READINESS_TIMEOUT_DEFAULT_MS = 2_000;

/** One database probe at a time: probes arriving while one runs share its answer (a hung database is not queried once per probe). */
export function databaseProbe(db: Database, timeoutMs: number): () => Promise<{ up: boolean; latencyMs: number }> {
  let running: Promise<{ up: boolean; latencyMs: number }> | null = null;
  return () => {
    running ??= (async () => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          db.pool.query('SELECT 1'),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
          }),
        ]);
        return { up: true, latencyMs: Math.round(performance.now() - started) };
      } catch {
        return { up: false, latencyMs: Math.round(performance.now() - started) };
      } finally {
        clearTimeout(timer);
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };
}

export function useHealthChecks(options: HealthOptions): Plugin {
  const probe = databaseProbe(options.db, options.readinessTimeoutMs ?? READINESS_TIMEOUT_DEFAULT_MS);
  const json = (fetchAPI: { Response: typeof Response }, status: number, body: unknown) =>
    new fetchAPI.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      const path = url.pathname;
      if (path === LIVENESS_PATH) {
        endResponse(json(fetchAPI, 200, { status: 'ok' }));
        return;
      }
      if (path !== READINESS_PATH && path !== HEALTH_PATH) return;
      if (options.shuttingDown?.()) {
        endResponse(json(fetchAPI, 503, { status: 'shutting_down' }));
        return;
      }
      const { up, latencyMs } = await probe();
      const audit = options.auditSaturated?.() ? 'backlogged' : 'ok';
      const ready = up && audit === 'ok';
      endResponse(
        json(fetchAPI, ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', database: up ? 'up' : 'down', audit, latencyMs }),
      );
    },
  };
}

/** GET /health (readiness), as before. */
export function useDatabaseHealth(db: Database, _path = HEALTH_PATH): Plugin {
  return useHealthChecks({ db });
}
