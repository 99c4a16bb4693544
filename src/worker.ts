// npm run worker: a delivery worker. The same code as the API, another role:
// it opens the database (PostgreSQL), migrates nothing (API instances do),
// and only propagates consent changes downstream: the outbox fan-out and
// webhook delivery, and the NATS JetStream sink when CONSENTQL_NATS_URL is
// set. Run API instances with CONSENTQL_ROLE=api and as many workers as the
// delivery load needs, all on one database: each change is delivered once per
// endpoint (by webhook-id), whichever worker sends it, and nothing is lost
// when one dies (see src/propagation/dispatcher.ts, nats-sink.ts).
//
// HTTP: liveness, readiness and metrics on CONSENTQL_WORKER_PORT
// (src/propagation/worker-http.ts). SIGTERM/SIGINT: stop claiming, give the
// attempts and publishes under way CONSENTQL_SHUTDOWN_TIMEOUT to finish and be
// recorded, close the pool, exit 0; a fatal error exits 1.
import type { Logger } from 'pino';
import { createLogger } from './app.ts';
import { loadConfig, type Config } from './config.ts';
import { openDatabase, type Database } from './db/database.ts';
import { databaseProbe } from './http/health.ts';
import { Metrics } from './http/metrics.ts';
import { installProcessHandlers } from './lifecycle.ts';
import { createMasker } from './masking/index.ts';
import { pendingMigrations, startDeliveryWorker, type DeliveryWorker } from './propagation/worker.ts';
import { serveWorkerHttp, type Readiness, type WorkerHttp } from './propagation/worker-http.ts';

const started = performance.now();
let config: Config;
try {
  // This process is a worker whatever CONSENTQL_ROLE says, unless it says api.
  config = loadConfig({ ...process.env, CONSENTQL_ROLE: process.env.CONSENTQL_ROLE || 'worker' });
  if (config.role === 'api') {
    throw new Error(
      'CONSENTQL_ROLE=api: this is the worker (npm run worker), which only delivers; unset CONSENTQL_ROLE or set it to worker.',
    );
  }
  if (!config.database.url) {
    throw new Error(
      'DATABASE_URL: a worker needs PostgreSQL (DATABASE_URL=postgresql://…). The embedded database takes one process at a time: ' +
        'with it, npm start alone serves and delivers.',
    );
  }
} catch (error) {
  console.error(`ConsentQL worker could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const logger: Logger = createLogger(config).child({ role: 'worker' });
const metrics = new Metrics({ defaultMetrics: true });
const shutdownGraceMs = config.http.shutdownTimeoutMs;
for (const warning of config.warnings) logger.warn(warning);

let state: 'starting' | 'waiting for migrations' | 'delivering' | 'draining' = 'starting';
let db: Database | undefined;
let worker: DeliveryWorker | undefined;
let server: WorkerHttp | undefined;

/** Database reachability within the readiness timeout; probes arriving while one runs share its answer (src/http/health.ts). */
let probe: (() => Promise<{ up: boolean }>) | undefined;

async function readiness(): Promise<Readiness> {
  if (state !== 'delivering') return { ready: false, state };
  if (!probe || !(await probe()).up) return { ready: false, state: 'database unreachable' };
  return { ready: true, state, ...worker!.stats() };
}

async function shutdown(signal: string): Promise<void> {
  state = 'draining';
  logger.info({ signal, graceMs: shutdownGraceMs }, 'draining: no new work; finishing what is under way');
  // Past the grace period and a margin for closing, leave anyway: whatever is unrecorded is sent again by another worker.
  const force = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, shutdownGraceMs + 10_000);
  force.unref();
  await worker?.stop(shutdownGraceMs);
  await server?.close();
  await db?.close();
  clearTimeout(force);
}

// SIGTERM/SIGINT stop it in order, a second signal exits at once, a fatal error is logged and exits 1
// (src/lifecycle.ts, as the API's): leases and claims of this process run out by themselves; nothing half-done is released.
const process_ = installProcessHandlers({ logger, shutdown });

try {
  server = await serveWorkerHttp({
    host: config.http.host,
    port: config.worker.port,
    readiness,
    metrics: () => metrics.scrape(),
    metricsToken: config.metrics.token,
  });
  db = await openDatabase({
    databaseUrl: config.database.url,
    poolSize: config.database.poolSize,
    statementTimeoutMs: config.database.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.database.idleInTransactionTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    onPoolError: (error) => logger.warn({ err: error }, 'a pooled database connection failed; the pool replaces it'),
  });
  metrics.attachDatabase(db, logger);
  probe = databaseProbe(db, config.http.readinessTimeoutMs);
  // API instances migrate at start; a worker started first (or alongside an older API) waits for them.
  for (let pending = await pendingMigrations(db); pending.length > 0; pending = await pendingMigrations(db)) {
    if (state !== 'waiting for migrations')
      logger.warn({ pending }, 'waiting for migrations: start an API instance (npm start) or run npm run db:migrate');
    state = 'waiting for migrations';
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if (process_.stopping()) break;
  }
  if (!process_.stopping()) {
    worker = await startDeliveryWorker(db, logger, createMasker(config.keys.hmac), {
      propagation: config.propagation,
      nats: config.nats,
      metrics,
    });
    state = 'delivering';
    logger.info(
      {
        database: db.location,
        ms: Math.round(performance.now() - started),
        webhooks: config.propagation.dispatch,
        nats: config.nats ? config.nats.stream : null,
      },
      `ConsentQL worker ready: health at ${server.url}/health`,
    );
  }
} catch (error) {
  logger.fatal({ err: error }, 'worker could not start');
  await server?.close().catch(() => {});
  await db?.close().catch(() => {});
  process.exit(1);
}
