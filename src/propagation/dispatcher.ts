import type { Logger } from 'pino';
import type { ConsentChangePayload } from '../consent/types.ts';
import type { Masker } from '../masking/index.ts';
import { noticeOf } from './notice.ts';
import { SerialTask } from './serial-task.ts';
import type { Database } from '../db/database.ts';
import type { PropagationOptions } from './config.ts';
import { messageId, sendWebhook, type Attempt } from './webhooks.ts';

// The webhook dispatcher: turns committed outbox rows into deliveries, and
// deliveries into signed POSTs, retried with backoff until delivered or dead.
//
// Everything it knows lives in the database, so a crash loses nothing: rows
// not yet fanned out still have `dispatched_at` null, and a delivery claimed
// by a process that died is claimed again once its lease runs out. Several
// instances share the work through `FOR UPDATE SKIP LOCKED`. No transaction
// stays open across an HTTP call (PGlite runs one at a time): a claim is a
// lease, written as `next_attempt_at` in the future.

const UTC_NOW = `(now() AT TIME ZONE 'UTC')`;
const FAN_OUT_BATCH = 200;

/** One statement, so atomic: deliveries for each active subscriber of the purpose, then mark the rows. */
const FAN_OUT = `
WITH batch AS (
  SELECT id, purpose_key FROM outbox_event
   WHERE dispatched_at IS NULL ORDER BY id LIMIT ${FAN_OUT_BATCH} FOR UPDATE SKIP LOCKED
), created AS (
  INSERT INTO webhook_delivery (id, subscription_id, outbox_event_id, status, attempts, next_attempt_at, created_at)
  SELECT gen_random_uuid(), s.id, b.id, 'PENDING', 0, ${UTC_NOW}, ${UTC_NOW}
    FROM batch b JOIN webhook_subscription s ON s.active AND b.purpose_key = ANY (s.purposes)
  ON CONFLICT (subscription_id, outbox_event_id) DO NOTHING
  RETURNING 1
)
UPDATE outbox_event o SET dispatched_at = ${UTC_NOW}
  FROM batch b WHERE o.id = b.id
RETURNING o.id, (SELECT count(*) FROM created)::int AS created`;

const CLAIM = `
UPDATE webhook_delivery d
   SET attempts = d.attempts + 1,
       last_attempt_at = ${UTC_NOW},
       next_attempt_at = ${UTC_NOW} + make_interval(secs => $2::double precision / 1000)
  FROM (SELECT d2.id FROM webhook_delivery d2
          JOIN webhook_subscription s2 ON s2.id = d2.subscription_id AND s2.active
         WHERE d2.status = 'PENDING' AND d2.next_attempt_at <= ${UTC_NOW}
         ORDER BY d2.next_attempt_at, d2.id
         LIMIT $1
           FOR UPDATE OF d2 SKIP LOCKED) c,
       webhook_subscription s, outbox_event o
 WHERE d.id = c.id AND s.id = d.subscription_id AND o.id = d.outbox_event_id
RETURNING d.id, d.attempts, o.id::text AS outbox_id, o.topic, o.payload,
          (o.created_at AT TIME ZONE 'UTC') AS occurred_at, s.url, s.secret`;

interface Claimed {
  id: string;
  attempts: number;
  outbox_id: string;
  topic: string;
  payload: unknown;
  occurred_at: Date;
  url: string;
  secret: string;
}

export class WebhookDispatcher {
  private readonly task = new SerialTask(
    () => this.run(),
    (error) => this.logger.warn({ err: error }, 'webhook dispatch failed; the next poll retries'),
  );
  private poll: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly options: PropagationOptions,
    private readonly masker: Masker,
  ) {}

  start(): void {
    this.poll = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.poll.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    for (const timer of this.timers) clearTimeout(timer);
    await this.task.stop();
  }

  /** Look for work now (new outbox rows, a replay, a retry that is due). */
  kick(): void {
    this.task.trigger();
  }

  private async run(): Promise<void> {
    while (!this.task.stopped) {
      const fanned = await this.db.pool.query<{ id: string; created: number }>(FAN_OUT);
      const claimed = await this.claim();
      const attempts = await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      await this.settleDelivered(attempts.filter(({ attempt }) => attempt.ok));
      for (const { delivery, attempt } of attempts) if (!attempt.ok) await this.settleFailed(delivery, attempt);
      if (fanned.rowCount !== FAN_OUT_BATCH && claimed.length < this.options.concurrency) return;
    }
  }

  private async claim(): Promise<Claimed[]> {
    // The lease outlasts an attempt, so only a dead process's claim expires.
    const leaseMs = this.options.timeoutMs * 2 + 1000;
    const { rows } = await this.db.pool.query<Claimed>(CLAIM, [this.options.concurrency, leaseMs]);
    return rows;
  }

  private async attempt(delivery: Claimed): Promise<{ delivery: Claimed; attempt: Attempt }> {
    const attempt = await sendWebhook(
      delivery.url,
      delivery.secret,
      {
        id: messageId(delivery.outbox_id),
        type: delivery.topic,
        occurredAt: delivery.occurred_at,
        data: noticeOf(delivery.payload as ConsentChangePayload, this.masker),
      },
      this.options.timeoutMs,
    );
    return { delivery, attempt };
  }

  /** All of a batch's successes in one statement: at 100 changes a second, one UPDATE each would be the bottleneck. */
  private async settleDelivered(done: readonly { delivery: Claimed; attempt: Attempt }[]): Promise<void> {
    if (done.length === 0) return;
    // `attempts = a` guards against a stale worker overwriting a newer claim.
    await this.db.pool.query(
      `UPDATE webhook_delivery d SET status = 'DELIVERED', delivered_at = ${UTC_NOW}, last_status = u.s, last_error = NULL
         FROM unnest($1::uuid[], $2::int[], $3::int[]) AS u(id, a, s)
        WHERE d.id = u.id AND d.attempts = u.a`,
      [done.map((d) => d.delivery.id), done.map((d) => d.delivery.attempts), done.map((d) => d.attempt.status)],
    );
    for (const { delivery } of done) {
      const lagMs = Date.now() - new Date((delivery.payload as { recordedAt: string }).recordedAt).getTime();
      this.logger.debug({ delivery: delivery.id, url: delivery.url, attempts: delivery.attempts, lagMs }, 'webhook delivered');
    }
  }

  private async settleFailed(delivery: Claimed, attempt: Attempt): Promise<void> {
    const schedule = this.options.retrySchedule;
    const params = [delivery.id, delivery.attempts, attempt.status, attempt.error];
    if (delivery.attempts > schedule.length) {
      await this.db.pool.query(
        `UPDATE webhook_delivery SET status = 'DEAD', last_status = $3, last_error = $4 WHERE id = $1 AND attempts = $2`,
        params,
      );
      this.logger.warn({ delivery: delivery.id, url: delivery.url, attempts: delivery.attempts, error: attempt.error }, 'webhook dead-lettered');
      return;
    }
    const delayMs = schedule[delivery.attempts - 1];
    await this.db.pool.query(
      `UPDATE webhook_delivery SET next_attempt_at = ${UTC_NOW} + make_interval(secs => $5::double precision / 1000),
              last_status = $3, last_error = $4
        WHERE id = $1 AND attempts = $2`,
      [...params, delayMs],
    );
    this.logger.info({ delivery: delivery.id, url: delivery.url, attempts: delivery.attempts, error: attempt.error, retryInMs: delayMs }, 'webhook attempt failed');
    this.later(delayMs);
  }

  /** Wakes this instance when a retry is due, rather than at the next poll. */
  private later(delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.kick();
    }, delayMs + 5);
    timer.unref();
    this.timers.add(timer);
  }
}
