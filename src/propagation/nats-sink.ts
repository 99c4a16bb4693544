import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { connect, headers as natsHeaders, nanos, StorageType, type JetStreamClient, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { ConsentChangePayload } from '../consent/types.ts';
import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';
import { noticeOf } from './notice.ts';
import { sinkLeaseMs, type NatsSinkOptions } from './nats-options.ts';
import { SerialTask } from './serial-task.ts';
import { messageBody, messageId } from './webhooks.ts';

// The NATS JetStream sink: every consent change, in outbox order, published to
// `<prefix>.<purpose>` with the notice webhooks carry (the subject's pseudonym
// under the purpose, never our id or the CRM's), as the same JSON body.
//
// At least once, and no loss: where the sink stands is a row of its own in
// PostgreSQL (propagation_cursor), advanced only after JetStream acknowledged
// every message up to it. A publish that fails or times out, or a worker that
// dies between the acknowledgement and the update, means those changes are
// published again. They carry the same message id (`Nats-Msg-Id`: msg_<outbox
// id>, the webhook-id of the same change), so JetStream drops the second copy
// within the stream's duplicate window and a consumer sees each change once.
//
// Outbox ids are assigned in commit order (the ledger serialises its writes),
// so following `id > position` skips nothing. One worker at a time publishes:
// the one holding the cursor's lease, renewed with every batch; when it dies
// another takes over once the lease has run out, from the stored position.
// Messages are sent in order on one connection without waiting for each
// acknowledgement, then awaited together. Each but the first of a batch is
// stored only if the stream's last message is the one before it
// (Nats-Expected-Last-Msg-Id), so when one fails every one after it fails too
// and is published again after it: the stream keeps the outbox order, a
// grant never lands after the withdrawal that followed it. (JetStream checks
// duplicates first, so a message published again is acknowledged as one.)

const BATCH = 256;

const UTC_NOW = `(now() AT TIME ZONE 'UTC')`;

/** What the sink publishes with; the default is JetStream, a test may wrap it to inject failures. */
export interface Publisher {
  /** `expectLastMsgId`: JetStream stores the message only if the stream's last message has that id. */
  publish(subject: string, body: string, msgId: string, expectLastMsgId?: string): Promise<{ duplicate: boolean }>;
}

export interface NatsSinkStats {
  /** Messages JetStream stored. */
  published: number;
  /** Messages JetStream already had (published again after a failure or a takeover). */
  duplicates: number;
  /** Publishes that failed or timed out (published again later). */
  failures: number;
  /** The highest outbox id published and acknowledged, as last seen by this worker. */
  position: string | null;
  /** Whether this worker holds the sink. */
  holding: boolean;
  connected: boolean;
}

interface Row {
  id: string;
  topic: string;
  payload: ConsentChangePayload;
  occurred_at: Date;
}

export interface NatsSinkRuntime {
  /** Safety net: how often to look for unpublished changes without a notification. */
  pollIntervalMs: number;
  /** Replaces JetStream as what messages are published with (tests). */
  wrapPublisher?: (publisher: Publisher) => Publisher;
}

export class NatsSink {
  private readonly task: SerialTask;
  private nc: NatsConnection | null = null;
  private connecting: Promise<void> | null = null;
  private publisher: Publisher | null = null;
  private poll: NodeJS.Timeout | undefined;
  private failing = false;
  /** Who holds the lease: this process, told apart from a restart on the same host with the same pid. */
  private readonly holder = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly cursorName: string;
  private readonly leaseMs: number;
  private readonly counters = { published: 0, duplicates: 0, failures: 0 };
  private position: string | null = null;
  private holding = false;

  private readonly db: Database;
  private readonly logger: Logger;
  private readonly masker: Masker;
  private readonly options: NatsSinkOptions;
  private readonly runtime: NatsSinkRuntime;

  constructor(db: Database, logger: Logger, masker: Masker, options: NatsSinkOptions, runtime: NatsSinkRuntime) {
    this.db = db;
    this.logger = logger.child({ sink: 'nats' });
    this.masker = masker;
    this.options = options;
    this.runtime = runtime;
    this.cursorName = `nats:${options.stream}`;
    this.leaseMs = sinkLeaseMs(options.publishTimeoutMs);
    this.task = new SerialTask(
      () => this.run(),
      (error) => {
        this.counters.failures++;
        // Once per outage, not once per poll.
        if (!this.failing)
          this.logger.warn({ err: error }, 'publishing consent changes to NATS failed; they are published again at the next try');
        this.failing = true;
      },
    );
  }

  /**
   * Creates the cursor if this is the sink's first start (from the newest
   * change: the stream gets the changes from now on), and starts following
   * the outbox. The connection to NATS is made in the background: a broker
   * that is down delays the stream, it does not stop the worker.
   */
  async start(): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO propagation_cursor (name, position, updated_at)
       SELECT $1, COALESCE(max(id), 0), ${UTC_NOW} FROM outbox_event
       ON CONFLICT (name) DO NOTHING`,
      [this.cursorName],
    );
    this.poll = setInterval(() => this.kick(), this.runtime.pollIntervalMs);
    this.poll.unref();
    this.kick();
  }

  /** Look for unpublished changes now. */
  kick(): void {
    this.task.trigger();
  }

  stats(): NatsSinkStats {
    return { ...this.counters, position: this.position, holding: this.holding, connected: this.publisher !== null && !this.nc?.isClosed() };
  }

  /**
   * Stops publishing: waits up to `graceMs` for the batch under way. A batch
   * that ended is recorded and the lease given up, so another worker takes
   * over at once; one still running is left as it is (its lease runs out and
   * another worker publishes it again, deduplicated by message id).
   */
  async stop(graceMs = 10_000): Promise<void> {
    clearInterval(this.poll);
    const finished = await settlesWithin(this.task.stop(), graceMs);
    if (finished && this.holding) {
      await this.db.pool
        .query(`UPDATE propagation_cursor SET holder = NULL, leased_until = NULL WHERE name = $1 AND holder = $2`, [
          this.cursorName,
          this.holder,
        ])
        .catch((error) => this.logger.warn({ err: error }, 'giving up the NATS sink lease failed; it runs out by itself'));
      this.holding = false;
    }
    const nc = this.nc;
    this.nc = null;
    this.publisher = null;
    await this.connecting?.catch(() => {});
    await nc?.close().catch(() => {});
  }

  private async run(): Promise<void> {
    await this.connectOnce();
    while (!this.task.stopped) {
      const position = await this.lease();
      if (position === null) return; // another worker publishes
      const { rows } = await this.db.pool.query<Row>(
        // Ordered by the bigint column (the output column \`id\` is text: "10" < "9").
        `SELECT o.id::text AS id, o.topic, o.payload, (o.created_at AT TIME ZONE 'UTC') AS occurred_at
           FROM outbox_event o WHERE o.id > $1 ORDER BY o.id LIMIT ${BATCH}`,
        [position],
      );
      if (rows.length === 0) {
        this.failing = false;
        return;
      }
      const { acked, error } = await this.publishAll(rows);
      if (acked > 0) {
        const next = rows[acked - 1].id;
        // Compare-and-set: a worker that lost its lease (and whose successor moved on) writes nothing.
        const moved = await this.db.pool.query(
          `UPDATE propagation_cursor SET position = $3, updated_at = ${UTC_NOW}
            WHERE name = $1 AND holder = $2 AND position = $4`,
          [this.cursorName, this.holder, next, position],
        );
        if (moved.rowCount !== 1) {
          this.holding = false;
          this.logger.info('the NATS sink lease passed to another worker');
          return;
        }
        this.position = next;
        const lagMs = Date.now() - new Date(rows[acked - 1].payload.recordedAt).getTime();
        this.logger.debug({ position: next, published: acked, lagMs }, 'consent changes published to NATS');
      }
      if (error) throw error;
      this.failing = false;
      if (rows.length < BATCH) return;
    }
  }

  /** Takes or renews the lease; the stored position, or null while another worker holds it. */
  private async lease(): Promise<string | null> {
    const { rows } = await this.db.pool.query<{ position: string }>(
      `UPDATE propagation_cursor
          SET holder = $2, leased_until = ${UTC_NOW} + make_interval(secs => $3::double precision / 1000)
        WHERE name = $1 AND (holder = $2 OR holder IS NULL OR leased_until IS NULL OR leased_until < ${UTC_NOW})
        RETURNING position::text AS position`,
      [this.cursorName, this.holder, this.leaseMs],
    );
    if (rows.length === 0) {
      if (this.holding) this.logger.info('the NATS sink lease passed to another worker');
      this.holding = false;
      return null;
    }
    if (!this.holding) this.logger.info({ position: rows[0].position }, 'this worker now publishes consent changes to NATS');
    this.holding = true;
    this.position = rows[0].position;
    return rows[0].position;
  }

  /** Sends the batch in order, then waits for every acknowledgement: how many in a row from the first were acknowledged. */
  private async publishAll(rows: Row[]): Promise<{ acked: number; error: unknown }> {
    const publisher = this.publisher!;
    const results = await Promise.allSettled(
      rows.map((row, i) => {
        const body = messageBody({
          id: messageId(row.id),
          type: row.topic,
          occurredAt: new Date(row.occurred_at),
          data: noticeOf(row.payload, this.masker),
        });
        return publisher.publish(
          this.subjectOf(row.payload.purpose),
          body,
          messageId(row.id),
          i > 0 ? messageId(rows[i - 1].id) : undefined,
        );
      }),
    );
    let acked = 0;
    while (acked < results.length && results[acked].status === 'fulfilled') acked++;
    for (const result of results) {
      if (result.status === 'rejected') continue;
      if (result.value.duplicate) this.counters.duplicates++;
      else this.counters.published++;
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    return { acked, error: failed ? failed.reason : null };
  }

  private subjectOf(purpose: string): string {
    // Purpose keys are snake_case; anything that is not a plain subject token would change the subject's meaning.
    const token = /^[A-Za-z0-9_-]+$/.test(purpose) ? purpose : '_invalid';
    return `${this.options.subjectPrefix}.${token}`;
  }

  /** Connects (once; the client reconnects by itself after that) and makes sure the stream exists. */
  private async connectOnce(): Promise<void> {
    if (this.publisher) return;
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    await this.connecting;
  }

  private async connect(): Promise<void> {
    const nc = await connect({
      servers: this.options.servers,
      name: `consentql-worker ${this.holder}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      timeout: this.options.publishTimeoutMs,
    });
    try {
      await this.ensureStream(nc);
    } catch (error) {
      await nc.close().catch(() => {});
      throw error;
    }
    if (this.task.stopped) {
      await nc.close().catch(() => {});
      return;
    }
    this.nc = nc;
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect' || status.type === 'reconnect')
          this.logger.info({ status: status.type }, `NATS connection ${status.type}ed`);
      }
    })().catch(() => {});
    const js: JetStreamClient = nc.jetstream({ timeout: this.options.publishTimeoutMs });
    const stream = this.options.stream;
    const timeout = this.options.publishTimeoutMs;
    const jetstream: Publisher = {
      async publish(subject, body, msgId, expectLastMsgId) {
        const h = natsHeaders();
        h.set('Content-Type', 'application/json');
        const expect = expectLastMsgId ? { streamName: stream, lastMsgID: expectLastMsgId } : { streamName: stream };
        const ack = await js.publish(subject, body, { msgID: msgId, headers: h, timeout, expect });
        return { duplicate: ack.duplicate };
      },
    };
    this.publisher = this.runtime.wrapPublisher ? this.runtime.wrapPublisher(jetstream) : jetstream;
    this.logger.info(
      { servers: this.options.servers.map(redactServer), stream, subjects: `${this.options.subjectPrefix}.<purpose>` },
      'NATS sink connected',
    );
  }

  private async ensureStream(nc: NatsConnection): Promise<void> {
    const jsm = await nc.jetstreamManager({ timeout: this.options.publishTimeoutMs });
    const wanted = `${this.options.subjectPrefix}.>`;
    const info = await jsm.streams.info(this.options.stream).catch((error: { code?: string; api_error?: { err_code?: number } }) => {
      if (error?.api_error?.err_code === 10059 || error?.code === '404') return null; // stream not found
      throw error;
    });
    if (!info) {
      await jsm.streams.add({
        name: this.options.stream,
        subjects: [wanted],
        storage: StorageType.File,
        duplicate_window: nanos(this.options.duplicateWindowMs),
      });
      this.logger.info(
        { stream: this.options.stream, subjects: wanted, duplicateWindowMs: this.options.duplicateWindowMs },
        'NATS stream created',
      );
      return;
    }
    const subjects = info.config.subjects ?? [];
    if (!subjects.includes(wanted) && !subjects.includes('>')) {
      throw new Error(
        `The NATS stream ${this.options.stream} does not take the subjects ${wanted} (it takes ${subjects.join(', ') || 'none'}). ` +
          'Add them to the stream, or set CONSENTQL_NATS_STREAM / CONSENTQL_NATS_SUBJECT_PREFIX to match it.',
      );
    }
    const windowMs = info.config.duplicate_window / 1e6;
    if (windowMs < this.leaseMs) {
      this.logger.warn(
        { stream: this.options.stream, duplicateWindowMs: windowMs, leaseMs: this.leaseMs },
        "the NATS stream's duplicate window is shorter than the sink's lease: a change published again after a worker died may reach consumers twice",
      );
    }
  }
}

/** A server URL for logs, without credentials. */
function redactServer(server: string): string {
  return server.replace(/\/\/[^@/]*@/, '//***@');
}

/** Whether `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
