import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { syncPurposes } from './db/purposes.ts';
import { refuseDemoClientsInProduction } from './db/demo-clients.ts';
import { createServer, GRAPHQL_PATH } from './server.ts';
import { describeError } from './http/error-log.ts';
import { createMasker } from './masking/index.ts';
import { startPropagation } from './propagation/index.ts';
import { AccessLog } from './audit/access-log.ts';
import { resumePendingErasures } from './rights/erase.ts';
import { AccessRetention } from './audit/retention.ts';
import { Metrics, startMetricsServer } from './http/metrics.ts';
import { drainHttpServer, Shutdown } from './lifecycle.ts';

export interface App {
  db: Database;
  url: string;
  logger: Logger;
  /** Whether this start seeded the demo data (a fresh embedded database). */
  seeded: boolean;
  accessLog: AccessLog;
  metrics: Metrics;
  /** The separate metrics listener (CONSENTQL_METRICS_PORT), when there is one. */
  metricsUrl: string | undefined;
  /**
   * The orderly stop: readiness 503, no new connections, subscription streams
   * ended, requests in flight finished (until the shutdown timeout), access
   * records written, propagation stopped, pool closed. Once; later calls share it.
   */
  close(): Promise<void>;
  /** Best effort before a fatal exit: write the queued access records now. */
  flush(): Promise<void>;
}

/**
 * Opens the database (embedded unless DATABASE_URL is set), applies pending
 * migrations, syncs the purpose taxonomy, seeds a fresh embedded database with
 * the demo data, and serves the API.
 */
/**
 * JSON lines for machines; readable lines when a person watches a terminal.
 * Every error logged as `err` (or `error`) is described, not dumped: a
 * PostgreSQL error's detail quotes the row it failed on ("Key (email)=(…)"),
 * so only its type, code, redacted message and stack frames are written.
 */
export const LOG_SERIALIZERS = { err: describeError, error: describeError };

export function createLogger(config: Pick<Config, 'env' | 'logLevel'>): Logger {
  const pretty = process.stdout.isTTY && config.env !== 'production';
  return pino({
    level: config.logLevel,
    serializers: LOG_SERIALIZERS,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss' } } } : {}),
  });
}

export async function startApp(config: Config, logger: Logger = createLogger(config)): Promise<App> {
  for (const warning of config.warnings) logger.warn(warning);
  const db = await openDatabase({
    databaseUrl: config.database.url,
    dataDir: config.database.dataDir,
    poolSize: config.database.poolSize,
    statementTimeoutMs: config.database.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.database.idleInTransactionTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    onPoolError: (error) => logger.warn({ err: error }, 'a pooled database connection failed; the pool replaces it'),
  });
  let propagation: Awaited<ReturnType<typeof startPropagation>> | undefined;
  let metricsServer: http.Server | undefined;
  let retention: AccessRetention | undefined;
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
      // The demo-data generator is loaded only here: a production process never imports it.
      const { seed, syncDemoClients } = await import('./db/seed.ts');
      if (rows[0].n === 0) {
        const summary = await seed(db.pool, { log: (m) => logger.info(m) });
        logger.info({ ms: summary.elapsedMs }, 'demo data seeded');
        seeded = true;
      } else {
        // Demo data from an older version gains the demo clients added since.
        await syncDemoClients(db.pool);
      }
    }
    const masker = createMasker(config.keys.hmac);
    // An erasure that a crash or a failure left PENDING is completed before anything is served (src/rights/erase.ts).
    await resumePendingErasures({ db, masker, proofKey: config.keys.proof, mode: config.mode }, logger);
    // Before propagation, whose dispatcher reports delivery lag and dead letters to it (PropagationMetrics).
    const metrics = new Metrics({ defaultMetrics: true });
    propagation = await startPropagation(db, logger, masker, config.propagation, { nats: config.nats, metrics });
    const accessLog = new AccessLog(db, logger, config.audit);
    metrics.attachAccessLog(accessLog);
    // startApp serves the API (roles api and all): it keeps access records, so it purges the old ones.
    retention = new AccessRetention(db, logger, { retentionDays: config.audit.retentionDays });
    retention.start();
    metrics.attachDatabase(db, logger);
    const shutdown = new Shutdown();
    const yoga = createServer({
      config,
      db,
      logger,
      propagation,
      masker,
      accessLog,
      metrics,
      shutdown,
      metricsToken: config.metrics.token,
      readinessTimeoutMs: config.http.readinessTimeoutMs,
    });
    const server = http.createServer(yoga);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, resolve);
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://localhost:${port}${GRAPHQL_PATH}`;
    let metricsUrl: string | undefined;
    if (config.metrics.port !== undefined) {
      const started = await startMetricsServer(metrics, {
        port: config.metrics.port,
        host: config.metrics.host,
        token: config.metrics.token,
      });
      metricsServer = started.server;
      metricsUrl = started.url;
    }
    let closing: Promise<void> | null = null;
    const close = async () => {
      shutdown.begin();
      const stopMetrics = metricsServer ? drainHttpServer(metricsServer, 1_000) : Promise.resolve();
      const { cut } = await drainHttpServer(server, config.http.shutdownTimeoutMs, logger);
      await stopMetrics;
      // Every request has ended: what they read is queued, and written now.
      const { unwritten } = await accessLog.close(Math.max(2_000, config.http.shutdownTimeoutMs / 2));
      await retention?.stop();
      await propagation?.stop();
      await yoga.dispose();
      await db.close();
      logger.debug({ cut, unwritten, accessRecordsWritten: accessLog.writtenCount }, 'server closed');
    };
    return {
      db,
      url,
      logger,
      seeded,
      accessLog,
      metrics,
      metricsUrl,
      close: () => (closing ??= close()),
      flush: () => accessLog.flush(),
    };
  } catch (error) {
    await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
    await retention?.stop();
    await propagation?.stop().catch(() => {});
    await db.close().catch(() => {});
    throw error;
  }
}
