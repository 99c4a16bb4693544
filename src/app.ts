import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { seed, syncDemoClients, syncPurposes } from './db/seed.ts';
import { refuseDemoClientsInProduction } from './db/demo-clients.ts';
import { createServer, GRAPHQL_PATH } from './server.ts';
import { createMasker, parseHmacKeys } from './masking/index.ts';
import { startPropagation } from './propagation/index.ts';

export interface App {
  db: Database;
  url: string;
  logger: Logger;
  /** Whether this start seeded the demo data (a fresh embedded database). */
  seeded: boolean;
  close(): Promise<void>;
}

/**
 * Opens the database (embedded unless DATABASE_URL is set), applies pending
 * migrations, syncs the purpose taxonomy, seeds a fresh embedded database with
 * the demo data, and serves the API.
 */
/** JSON lines for machines; readable lines when a person watches a terminal. */
export function createLogger(config: Config): Logger {
  const pretty = process.stdout.isTTY && config.env !== 'production';
  return pino({
    level: config.logLevel,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss' } } } : {}),
  });
}

export async function startApp(config: Config, logger: Logger = createLogger(config)): Promise<App> {
  // A production start without HMAC keys fails here, before the database is touched.
  const keyring = parseHmacKeys(config.hmacKeys, { production: config.env === 'production' });
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
  });
  let propagation: Awaited<ReturnType<typeof startPropagation>> | undefined;
  try {
    const { applied } = await migrate(db.pool, { log: (m) => logger.debug(m) });
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    await syncPurposes(db.pool);
    // Production refuses a database holding the published demo keys (npm run db:seed writes them), before serving.
    await refuseDemoClientsInProduction(db.pool, config.env);
    let seeded = false;
    // Demo data and its publicly known client keys never go into a production database.
    if (db.embedded && config.env !== 'production') {
      const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM customer');
      if (rows[0].n === 0) {
        const summary = await seed(db.pool, { log: (m) => logger.info(m) });
        logger.info({ ms: summary.elapsedMs }, 'demo data seeded');
        seeded = true;
      } else {
        // Demo data from an older version gains the demo clients added since.
        await syncDemoClients(db.pool);
      }
    }
    propagation = await startPropagation(db, logger, createMasker(keyring));
    const yoga = createServer({ config, db, logger });
    const server = http.createServer(yoga);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://localhost:${port}${GRAPHQL_PATH}`;
    return {
      db,
      url,
      logger,
      seeded,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await propagation?.stop();
        await db.close();
      },
    };
  } catch (error) {
    await propagation?.stop().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
}
