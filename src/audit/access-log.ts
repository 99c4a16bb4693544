import type { Logger } from 'pino';
import type { Plugin } from 'graphql-yoga';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import type { Context } from '../schema/context.ts';
import { fieldNames, unionOf, type FieldSet, type SubjectAccess } from '../schema/consent-plugin/request-consent.ts';

// Who read whose data for which purpose: one access_record row per read, and
// one access_subject row per subject of it (which tagged fields of that
// subject were returned in clear and which masked), written off the request
// path, both tables in one statement. Records wait in memory and go to the database
// in batches (one multi-row INSERT, through unnest) every `flushIntervalMs`,
// or as soon as `batchSize` are waiting. A failed batch stays queued and is
// tried again at the next flush: a record is only ever removed from the
// queue once its row is committed.
//
// The queue is bounded. When the database cannot take records for long
// enough that `maxQueue` are waiting, the policy is to keep every record
// and stop taking new reads: the queue is "saturated", an error is logged
// with the counts (at most every 10 s), readiness (/readyz, /health) answers
// 503 so that a load balancer stops sending traffic, and a request that
// would read personal data is refused with CONSENT_UNAVAILABLE (503,
// Retry-After) before any data is read (useAccessLogAdmission). Requests
// already past that point still queue their record, so the queue can exceed
// `maxQueue` by at most the requests in flight. Records are never dropped
// silently; the only way one is lost is a shutdown (or crash) while the
// database is unreachable, and that is logged as an error with the count.

export interface AccessRecord {
  clientId: string | null;
  purposeKey: string;
  operation: string | null;
  fieldsMasked: number;
  rowsExcluded: number | null;
  /** When the read was decided; both tables carry it. Defaults to when the record is queued. */
  occurredAt?: Date;
  /**
   * Per subject the read returned, the tagged fields (`Customer.email`)
   * returned in clear and masked: one access_subject row each. Sets are read
   * when the batch is written, off the request path.
   */
  subjects: readonly SubjectAccess[];
}

export interface AccessLogOptions {
  /** The longest a record waits in memory before a flush starts, in ms. */
  flushIntervalMs?: number;
  /** Records per INSERT; a flush starts as soon as this many are waiting. */
  batchSize?: number;
  /** Records waiting beyond which reads of personal data are refused (see above). */
  maxQueue?: number;
}

export const ACCESS_LOG_DEFAULTS = { flushIntervalMs: 200, batchSize: 500, maxQueue: 50_000 } as const;

/**
 * One statement per batch writes both tables: the records take their ids from
 * the sequence in a materialised CTE (one nextval per record, in input
 * order), so the per-subject rows can name their record without a round trip
 * back. Field lists travel as comma-joined text (a GraphQL coordinate holds
 * no comma). The subjects of a record mostly share a few pairs of field sets
 * (returned, masked): they travel as one JSON array of [record, returned,
 * masked, subject ids] per pair, passed by the driver as it is (a parameter
 * that is a JavaScript array is escaped element by element: for a 1,000-row
 * page, four arrays of 1,000), as jsonb, parsed once (as json each `->>`
 * reads the element's text again), and each pair's lists are made into
 * arrays once (the CTE is materialised so that they are not remade per subject).
 */
const INSERT = `WITH r AS MATERIALIZED (
  SELECT nextval(pg_get_serial_sequence('access_record', 'id')) AS id, r.*
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::text[], $8::timestamp[])
         WITH ORDINALITY AS r(client_id, purpose_key, operation, subjects, fields_masked, rows_excluded, fields_returned, occurred_at, n)
), written AS (
  INSERT INTO access_record (id, client_id, purpose_key, operation, subjects, fields_masked, rows_excluded, fields_returned, occurred_at)
  SELECT r.id, r.client_id, r.purpose_key, r.operation, r.subjects, r.fields_masked, r.rows_excluded,
         string_to_array(r.fields_returned, ','), r.occurred_at
    FROM r
), pairs AS MATERIALIZED (
  SELECT (e->>0)::int AS n, string_to_array(e->>1, ',') AS returned, string_to_array(e->>2, ',') AS masked,
         string_to_array(e->>3, ',')::uuid[] AS subjects
    FROM jsonb_array_elements($9::jsonb) AS e
)
INSERT INTO access_subject (record_id, customer_id, returned, masked, occurred_at)
SELECT r.id, s.id, pairs.returned, pairs.masked, r.occurred_at
  FROM pairs
  JOIN r ON r.n = pairs.n
  CROSS JOIN LATERAL unnest(pairs.subjects) AS s(id)
  -- A subject erased since the read gets no row: an erasure in progress holds a SHARE lock on
  -- access_subject until it commits (src/rights/erase.ts), which this statement waits for when it
  -- is parsed, before it takes its snapshot; it then finds no customer.
  JOIN customer c ON c.id = s.id`;

/** Subject rows beyond which a batch is written without more records: one statement stays bounded. */
const MAX_SUBJECT_ROWS_PER_BATCH = 20_000;

/** Parameters of INSERT for a batch. */
export function insertParameters(batch: readonly AccessRecord[]): unknown[] {
  const pairRows: [number, string, string, string][] = [];
  const fieldsReturned: string[] = [];
  // Each set of fields is named once per batch.
  const named = new Map<number | string, string>();
  const names = (set: FieldSet) => {
    // Most sets fit in one word (the first 32 field numbers): a number key, no string built.
    const key = set.length <= 1 ? (set[0] ?? 0) : set.join();
    let list = named.get(key);
    if (list === undefined) {
      list = fieldNames(set).join(',');
      named.set(key, list);
    }
    return list;
  };
  batch.forEach((record, index) => {
    // Per record: returned names → masked names → the subjects with that pair.
    const pairs = new Map<string, Map<string, string[]>>();
    for (const subject of record.subjects) {
      const returned = names(subject.returned);
      const masked = names(subject.masked);
      let byMasked = pairs.get(returned);
      if (byMasked === undefined) {
        byMasked = new Map();
        pairs.set(returned, byMasked);
      }
      const ids = byMasked.get(masked);
      if (ids === undefined) byMasked.set(masked, [subject.subjectId]);
      else ids.push(subject.subjectId);
    }
    for (const [returned, byMasked] of pairs) {
      for (const [masked, ids] of byMasked) pairRows.push([index + 1, returned, masked, ids.join(',')]);
    }
    fieldsReturned.push(fieldNames(unionOf(record.subjects.map((s) => s.returned))).join(','));
  });
  return [
    batch.map((r) => r.clientId),
    batch.map((r) => r.purposeKey),
    batch.map((r) => r.operation),
    batch.map((r) => r.subjects.length),
    batch.map((r) => r.fieldsMasked),
    batch.map((r) => r.rowsExcluded),
    fieldsReturned,
    batch.map((r) => (r.occurredAt ?? new Date()).toISOString()),
    JSON.stringify(pairRows),
  ];
}

export class AccessLog {
  private readonly queue: AccessRecord[] = [];
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  readonly maxQueue: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  private closed = false;
  private lastSaturationLog = 0;
  private failedSince: number | null = null;
  private written = 0;
  private failures = 0;

  private readonly db: Database;
  private readonly logger: Logger;

  constructor(db: Database, logger: Logger, options: AccessLogOptions = {}) {
    this.db = db;
    this.logger = logger;
    this.flushIntervalMs = options.flushIntervalMs ?? ACCESS_LOG_DEFAULTS.flushIntervalMs;
    this.batchSize = options.batchSize ?? ACCESS_LOG_DEFAULTS.batchSize;
    this.maxQueue = Math.max(options.maxQueue ?? ACCESS_LOG_DEFAULTS.maxQueue, this.batchSize);
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Rows written since start. */
  get writtenCount(): number {
    return this.written;
  }

  /** Batches that failed to be written since start (each was retried). */
  get failedFlushes(): number {
    return this.failures;
  }

  /** As many records wait as the bound allows: new reads of personal data are refused until they are written. */
  get saturated(): boolean {
    return this.queue.length >= this.maxQueue;
  }

  /** Queues the record of one read (never throws, never waits). */
  record(record: AccessRecord): void {
    this.queue.push(record.occurredAt ? record : { ...record, occurredAt: new Date() });
    if (this.closed) {
      // A read that finished during shutdown: written by the final flush, which is still to come or under way.
      void this.flush();
      return;
    }
    if (this.saturated) this.reportSaturation();
    if (this.queue.length >= this.batchSize) void this.flush();
    else this.schedule();
  }

  /** Queues the record of the read a request's consent decisions describe (after the response is decided). */
  recordRead(ctx: Context, operationName: string | undefined): void {
    const consent = ctx.consent;
    if (!consent) return;
    this.record({
      clientId: ctx.client?.id ?? null,
      purposeKey: consent.purpose.key,
      operation: operationName ?? null,
      fieldsMasked: consent.maskedFields,
      rowsExcluded: consent.excludedRows,
      occurredAt: new Date(),
      subjects: consent.subjectAccess(),
    });
  }

  /**
   * Writes what is queued now (and what is queued while it writes), one batch
   * after another; resolves when the queue is empty or a batch failed (the
   * failed records stay queued). Concurrent calls share one flush.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
      // Records that arrived after the last batch, or a failed batch: next interval.
      if (this.queue.length > 0 && !this.closed) this.schedule();
    });
    return this.flushing;
  }

  /**
   * Stops the timer and writes everything queued, retrying failed batches
   * until `timeoutMs` has passed; what is still unwritten then is counted in an
   * error log line (never dropped silently). Records arriving meanwhile are written too.
   */
  async close(timeoutMs = 5_000): Promise<{ unwritten: number }> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.flush();
      if (this.queue.length === 0) return { unwritten: 0 };
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))));
    }
    const unwritten = this.queue.length;
    this.logger.error(
      { unwritten, written: this.written, since: this.failedSince ? new Date(this.failedSince).toISOString() : null },
      'access records could not be written before shutdown; these reads have no audit record',
    );
    return { unwritten };
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.nextBatch();
      try {
        await this.db.pool.query(INSERT, insertParameters(batch));
      } catch (error) {
        this.failedSince ??= Date.now();
        this.failures += 1;
        // Counts only: the records name subjects.
        this.logger.error(
          { err: error, batch: batch.length, pending: this.queue.length },
          'could not write access records; they stay queued and are retried',
        );
        return;
      }
      this.queue.splice(0, batch.length);
      this.written += batch.length;
      if (this.failedSince !== null) {
        this.logger.warn(
          { pending: this.queue.length, failingForMs: Date.now() - this.failedSince },
          'access records are being written again',
        );
        this.failedSince = null;
      }
    }
  }

  /** Up to batchSize records, fewer when their subjects pass MAX_SUBJECT_ROWS_PER_BATCH (at least one record). */
  private nextBatch(): AccessRecord[] {
    let subjects = 0;
    let end = 0;
    while (end < this.queue.length && end < this.batchSize) {
      subjects += this.queue[end].subjects.length;
      if (end > 0 && subjects > MAX_SUBJECT_ROWS_PER_BATCH) break;
      end += 1;
    }
    return this.queue.slice(0, end);
  }

  private reportSaturation(): void {
    const now = Date.now();
    if (now - this.lastSaturationLog < 10_000) return;
    this.lastSaturationLog = now;
    this.logger.error(
      {
        pending: this.queue.length,
        maxQueue: this.maxQueue,
        written: this.written,
        failingForMs: this.failedSince ? now - this.failedSince : null,
      },
      'access records are not being written fast enough: reads of personal data are refused (CONSENT_UNAVAILABLE) until the queue drains',
    );
  }
}

/**
 * After the purpose gate (which decides whether a request reads personal
 * data): while the access log is saturated, such a request is refused before
 * any data is read, since its read could not be recorded.
 */
export function useAccessLogAdmission(accessLog: AccessLog): Plugin<Context> {
  const refuse = (contextValue: unknown, stop: (result: { errors: ConsentQLError[] }) => void) => {
    if (!(contextValue as Context).consent || !accessLog.saturated) return;
    stop({
      errors: [
        new ConsentQLError(
          'CONSENT_UNAVAILABLE',
          'Reads of personal data are paused: their access records cannot be written at the moment. Try again shortly.',
          { reason: 'AUDIT_BACKLOG' },
          { 'Retry-After': '5' },
        ),
      ],
    });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => refuse(args.contextValue, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => refuse(args.contextValue, setResultAndStopExecution),
  };
}
