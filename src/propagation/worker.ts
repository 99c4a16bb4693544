import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { readMigrations } from '../db/migrate.ts';
import type { Masker } from '../masking/index.ts';
import type { PropagationOptions } from './config.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { listenForCommits, type OutboxListener } from './listener.ts';
import { NatsSink, type NatsSinkRuntime, type NatsSinkStats } from './nats-sink.ts';
import type { NatsSinkOptions } from './nats-options.ts';
import type { PropagationMetrics } from '../http/metrics.ts';

// The delivery side of a worker process (src/worker.ts): the outbox fan-out and
// webhook delivery, and the NATS sink when configured, woken by the ledger's
// NOTIFY from whichever API instance committed. No change hub: a worker serves
// no subscriptions. Any number of workers (and of `all` processes) share the
// work through the database: see dispatcher.ts and nats-sink.ts.

export interface DeliveryWorkerStats {
  webhooks: { inFlight: number; delivered: number; failed: number } | null;
  nats: NatsSinkStats | null;
}

export interface DeliveryWorker {
  dispatcher: WebhookDispatcher | null;
  sink: NatsSink | null;
  stats(): DeliveryWorkerStats;
  /** Stops taking work; what is under way gets `graceMs` to finish and be recorded; then the listener closes. */
  stop(graceMs: number): Promise<void>;
}

export interface DeliveryWorkerOptions {
  propagation: PropagationOptions;
  /** Null: no NATS sink. */
  nats: NatsSinkOptions | null;
  /** Delivery lag and dead letters (src/http/metrics.ts). */
  metrics?: PropagationMetrics;
  /** Tests only: what the sink publishes with. */
  natsRuntime?: Pick<NatsSinkRuntime, 'wrapPublisher'>;
}

export async function startDeliveryWorker(
  db: Database,
  logger: Logger,
  masker: Masker,
  options: DeliveryWorkerOptions,
): Promise<DeliveryWorker> {
  const dispatcher = options.propagation.dispatch ? new WebhookDispatcher(db, logger, options.propagation, masker, options.metrics) : null;
  const sink = options.nats
    ? new NatsSink(db, logger, masker, options.nats, { pollIntervalMs: options.propagation.pollIntervalMs, ...options.natsRuntime })
    : null;
  let listener: OutboxListener | null = null;
  try {
    // A worker that cannot LISTEN at start fails (exits non-zero): after that the listener reconnects by itself.
    listener = await listenForCommits(db, logger, () => {
      dispatcher?.kick();
      sink?.kick();
    });
    dispatcher?.start();
    await sink?.start();
  } catch (error) {
    await dispatcher?.stop(0).catch(() => {});
    await sink?.stop(0).catch(() => {});
    await listener?.stop().catch(() => {});
    throw error;
  }
  logger.info({ webhooks: Boolean(dispatcher), nats: Boolean(sink) }, 'delivery worker started');
  return {
    dispatcher,
    sink,
    stats: () => ({ webhooks: dispatcher?.stats() ?? null, nats: sink?.stats() ?? null }),
    async stop(graceMs) {
      const deadline = Date.now() + graceMs;
      const left = () => Math.max(0, deadline - Date.now());
      await Promise.all([dispatcher?.stop(graceMs), sink?.stop(graceMs)]);
      await Promise.race([listener?.stop(), new Promise((resolve) => setTimeout(resolve, left()).unref())]);
    },
  };
}

/**
 * The migrations this code expects that the database has not applied: a
 * worker migrates nothing (API instances do, at start), so it waits until
 * there are none before it delivers. Empty when the schema is current.
 */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const expected = readMigrations().map((m) => m.name);
  const { rows } = await db.pool
    .query<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    )
    .catch((error: { code?: string }) => {
      if (error.code === '42P01') return { rows: [] }; // no table yet: nothing applied
      throw error;
    });
  const applied = new Set(rows.map((r) => r.migration_name));
  return expected.filter((name) => !applied.has(name));
}
