import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';

// Access records are kept for CONSENTQL_ACCESS_RETENTION_DAYS, then deleted:
// a record of who read whose data is itself personal data, kept only as long
// as a subject or an auditor may need it. Each API process purges on a timer
// (started and stopped by the composition root, src/app.ts); instances that
// purge at the same time only find fewer rows. Deletes go in batches through
// the occurred_at indexes, so a purge never holds many row locks nor one long
// transaction, and a backlog after a long pause drains over several statements.

export interface RetentionOptions {
  /** Records older than this many days are deleted. */
  retentionDays: number;
  /** How often a purge runs, in ms (the first one shortly after start). */
  intervalMs?: number;
  /** Rows per DELETE. */
  batchSize?: number;
}

export const RETENTION_DEFAULTS = { intervalMs: 60 * 60 * 1000, batchSize: 5_000, firstRunMs: 30_000 } as const;

const DAY_MS = 24 * 60 * 60 * 1000;

// By ctid: one index range scan picks the batch, the delete touches those rows only.
const PURGE_SUBJECTS = `DELETE FROM access_subject WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM access_subject WHERE occurred_at < $1::timestamp ORDER BY occurred_at LIMIT $2))`;
const PURGE_RECORDS = `DELETE FROM access_record WHERE id = ANY (ARRAY(
  SELECT id FROM access_record WHERE occurred_at < $1::timestamp ORDER BY occurred_at LIMIT $2))`;

export interface PurgeResult {
  cutoff: Date;
  records: number;
  subjects: number;
}

export class AccessRetention {
  private readonly db: Database;
  private readonly logger: Logger;
  private readonly retentionDays: number;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(db: Database, logger: Logger, options: RetentionOptions) {
    if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) {
      throw new Error(`AccessRetention expects retentionDays to be a whole number of days, at least 1, but got ${options.retentionDays}.`);
    }
    this.db = db;
    this.logger = logger;
    this.retentionDays = options.retentionDays;
    this.intervalMs = options.intervalMs ?? RETENTION_DEFAULTS.intervalMs;
    this.batchSize = options.batchSize ?? RETENTION_DEFAULTS.batchSize;
  }

  /** The oldest time a record may have to be kept at `now`. */
  cutoff(now = new Date()): Date {
    return new Date(now.getTime() - this.retentionDays * DAY_MS);
  }

  /** Purges on a timer until `stop()`; a failed purge is logged and tried again at the next interval. */
  start(firstRunMs: number = RETENTION_DEFAULTS.firstRunMs): void {
    this.stopped = false;
    this.schedule(firstRunMs);
  }

  /** Stops the timer and waits for a purge under way (it ends after its current batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes every access record and per-subject row older than the retention, batch by batch. */
  async purge(now = new Date()): Promise<PurgeResult> {
    const cutoff = this.cutoff(now);
    // Prisma stores UTC wall time in `timestamp` columns.
    const at = cutoff.toISOString();
    let subjects = 0;
    let records = 0;
    for (;;) {
      const { rowCount } = await this.db.pool.query(PURGE_SUBJECTS, [at, this.batchSize]);
      subjects += rowCount ?? 0;
      if ((rowCount ?? 0) < this.batchSize || this.stopped) break;
    }
    for (;;) {
      const { rowCount } = await this.db.pool.query(PURGE_RECORDS, [at, this.batchSize]);
      records += rowCount ?? 0;
      if ((rowCount ?? 0) < this.batchSize || this.stopped) break;
    }
    return { cutoff, records, subjects };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const run = this.purge().then(
        ({ records, subjects }) => {
          if (records + subjects > 0)
            this.logger.info({ records, subjects, retentionDays: this.retentionDays }, 'old access records purged');
        },
        (error) => this.logger.error({ err: error }, 'could not purge old access records; trying again at the next interval'),
      );
      this.running = run.finally(() => {
        this.running = null;
        this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }
}
