import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/database.ts';

/** GET /health: 200 when the database answers, 503 otherwise (for load balancers). */
export function useDatabaseHealth(db: Database, path = '/health'): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== path) return;
      const started = performance.now();
      let database: 'up' | 'down' = 'up';
      try {
        await db.pool.query('SELECT 1');
      } catch {
        database = 'down';
      }
      const body = { status: database === 'up' ? 'ok' : 'unavailable', database, latencyMs: Math.round(performance.now() - started) };
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), {
          status: database === 'up' ? 200 : 503,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
  };
}
