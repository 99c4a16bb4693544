import type { PropagationMetrics } from '../http/metrics.ts';
import type { Logger } from 'pino';
import type { ConsentChangePayload } from '../consent/types.ts';
import type { Masker } from '../masking/index.ts';
import { noticeOf } from './notice.ts';
import { SerialTask } from './serial-task.ts';
import type { Database } from '../db/database.ts';
import { perSubscriptionLimit, type PropagationOptions } from './config.ts';
import { targetForLogs, targetPolicy, type TargetPolicy } from './targets.ts';
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
//
// Attempts run independently: each one is settled as soon as it ends, and a
// slot it frees is filled at once, up to `concurrency` in flight. One
// subscriber holds at most `concurrencyPerSubscription` of them, so an
// endpoint that hangs until the timeout, with a backlog of retries, delays
// only its own deliveries.

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

/**
 * Leases up to $1 due deliveries, oldest first, at most $5 per subscriber
 * counting the $4 attempts already in flight for the subscribers $3. It looks
 * ahead $6 due rows: a subscriber at its limit is skipped in the index scan,
 * and the caller claims again while a limit was what stopped the claim.
 */
const CLAIM = `
WITH busy AS (
  SELECT b.sid, b.n FROM unnest($3::uuid[], $4::int[]) AS b(sid, n)
), due AS (
  SELECT d2.id, d2.subscription_id, d2.next_attempt_at
    FROM webhook_delivery d2
    JOIN webhook_subscription s2 ON s2.id = d2.subscription_id AND s2.active
   WHERE d2.status = 'PENDING' AND d2.next_attempt_at <= ${UTC_NOW}
     AND NOT EXISTS (SELECT 1 FROM busy WHERE busy.sid = d2.subscription_id AND busy.n >= $5)
   ORDER BY d2.next_attempt_at, d2.id
   LIMIT $6
), picked AS (
  SELECT ranked.id FROM (
    SELECT due.id, due.next_attempt_at,
           row_number() OVER (PARTITION BY due.subscription_id ORDER BY due.next_attempt_at, due.id) AS nth,
           $5 - COALESCE((SELECT busy.n FROM busy WHERE busy.sid = due.subscription_id), 0) AS room
      FROM due
  ) ranked
   WHERE ranked.nth <= ranked.room
   ORDER BY ranked.next_attempt_at, ranked.id
   LIMIT $1
), locked AS (
  SELECT d3.id FROM webhook_delivery d3
   WHERE d3.id IN (SELECT picked.id FROM picked)
     AND d3.status = 'PENDING' AND d3.next_attempt_at <= ${UTC_NOW}
     FOR UPDATE SKIP LOCKED
)
UPDATE webhook_delivery d
   SET attempts = d.attempts + 1,
       last_attempt_at = ${UTC_NOW},
       next_attempt_at = ${UTC_NOW} + make_interval(secs => $2::double precision / 1000)
  FROM locked c, webhook_subscription s, outbox_event o
 WHERE d.id = c.id AND s.id = d.subscription_id AND o.id = d.outbox_event_id
RETURNING d.id, d.subscription_id::text AS subscription_id, d.attempts, o.id::text AS outbox_id, o.topic, o.payload,
          (o.created_at AT TIME ZONE 'UTC') AS occurred_at, s.url, s.secret`;

interface Claimed {
  id: string;
  subscription_id: string;
  attempts: number;
  outbox_id: string;
  topic: string;
  payload: unknown;
  occurred_at: Date;
  url: string;
  secret: string;
}

interface Done {
  delivery: Claimed;
  attempt: Attempt;
}

export class WebhookDispatcher {
  private readonly task = new SerialTask(
    () => this.run(),
    (error) => this.logger.warn({ err: error }, 'webhook dispatch failed; the next poll retries'),
  );
  /** Writes successes in batches: at 100 changes a second, one UPDATE each would be the bottleneck. */
  private readonly recorder = new SerialTask(
    () => this.recordDelivered(),
    (error) => this.logger.warn({ err: error }, 'recording delivered webhooks failed; their leases run out and they are sent again'),
  );
  private poll: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Attempts under way, by delivery id: each settles on its own. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Attempts under way per subscription id. */
  private readonly busy = new Map<string, number>();
  private readonly delivered: Done[] = [];
  private readonly counts = { delivered: 0, failed: 0 };
  /** The last claim stopped because every slot was taken: an attempt that ends looks for more. */
  private full = false;
  private readonly perSubscription: number;
  private readonly policy: TargetPolicy;

  private readonly db: Database;
  private readonly logger: Logger;
  private readonly options: PropagationOptions;
  private readonly masker: Masker;
  private readonly metrics: PropagationMetrics | undefined;

  constructor(db: Database, logger: Logger, options: PropagationOptions, masker: Masker, metrics?: PropagationMetrics) {
    this.metrics = metrics;
    this.db = db;
    this.logger = logger;
    this.options = options;
    this.masker = masker;
    this.perSubscription = perSubscriptionLimit(options);
    this.policy = targetPolicy(options.allowHosts ?? []);
  }

  start(): void {
    // Creating a subscription checks its URL against the allow-list deliveries use.
    this.poll = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.poll.unref();
    this.kick();
  }

  /**
   * Stops claiming, lets the attempts under way end (each within the
   * timeout, and all within `graceMs` when given) and records those that
   * ended. An attempt still running after `graceMs` is left as it is: its
   * claim is not released (the POST may have arrived), so once its lease runs
   * out another instance sends it again, with the same webhook-id.
   */
  async stop(graceMs?: number): Promise<void> {
    clearInterval(this.poll);
    for (const timer of this.timers) clearTimeout(timer);
    await this.task.stop();
    const attempts = Promise.all(this.inFlight.values());
    if (graceMs === undefined) await attempts;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([attempts, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      if (this.inFlight.size > 0)
        this.logger.warn(
          { inFlight: this.inFlight.size },
          'webhook attempts still running at shutdown; their leases run out and they are sent again',
        );
    }
    await this.recorder.stop();
    await this.recordDelivered();
  }

  /** Counters for readiness and metrics. */
  stats(): { inFlight: number; delivered: number; failed: number } {
    return { inFlight: this.inFlight.size, ...this.counts };
  }

  /** Look for work now (new outbox rows, a replay, a retry that is due). */
  kick(): void {
    this.task.trigger();
  }

  private async run(): Promise<void> {
    while (!this.task.stopped) {
      const fanned = await this.db.pool.query<{ id: string; created: number }>(FAN_OUT);
      await this.claimWhileRoom();
      if (fanned.rowCount !== FAN_OUT_BATCH) return;
    }
  }

  /** Fills the free slots; returns when nothing more is due, or no slot is free. */
  private async claimWhileRoom(): Promise<void> {
    this.full = false;
    while (!this.task.stopped) {
      const room = this.options.concurrency - this.inFlight.size;
      if (room <= 0) {
        this.full = true;
        return;
      }
      const claimed = await this.claim(room);
      for (const delivery of claimed) this.launch(delivery);
      // A subscriber that reached its limit may have hidden others' due rows: look again.
      const limited = claimed.some((d) => (this.busy.get(d.subscription_id) ?? 0) >= this.perSubscription);
      if (claimed.length < room && !limited) return;
    }
  }

  private async claim(room: number): Promise<Claimed[]> {
    // The lease outlasts an attempt, so only a dead process's claim expires.
    const leaseMs = this.options.timeoutMs * 2 + 1000;
    const busy = [...this.busy];
    const { rows } = await this.db.pool.query<Claimed>(CLAIM, [
      room,
      leaseMs,
      busy.map(([id]) => id),
      busy.map(([, n]) => n),
      this.perSubscription,
      Math.max(4 * room, 64),
    ]);
    return rows;
  }

  private launch(delivery: Claimed): void {
    const subscription = delivery.subscription_id;
    this.busy.set(subscription, (this.busy.get(subscription) ?? 0) + 1);
    const settled = this.attempt(delivery)
      .then((attempt) => {
        this.counts[attempt.ok ? 'delivered' : 'failed']++;
        return attempt.ok ? this.queueDelivered({ delivery, attempt }) : this.settleFailed(delivery, attempt);
      })
      .catch((error) =>
        this.logger.warn(
          { err: error, delivery: delivery.id },
          'recording a webhook attempt failed; its lease runs out and it is sent again',
        ),
      )
      .finally(() => {
        this.inFlight.delete(delivery.id);
        const left = (this.busy.get(subscription) ?? 1) - 1;
        if (left === 0) this.busy.delete(subscription);
        else this.busy.set(subscription, left);
        // A freed slot takes the next due delivery at once, not at the next poll.
        if (this.full || left + 1 >= this.perSubscription) this.kick();
      });
    this.inFlight.set(delivery.id, settled);
  }

  private attempt(delivery: Claimed): Promise<Attempt> {
    return sendWebhook(
      delivery.url,
      delivery.secret,
      {
        id: messageId(delivery.outbox_id),
        type: delivery.topic,
        occurredAt: delivery.occurred_at,
        data: noticeOf(delivery.payload as ConsentChangePayload, this.masker),
      },
      { timeoutMs: this.options.timeoutMs, policy: this.policy },
    );
  }

  private queueDelivered(done: Done): void {
    this.delivered.push(done);
    this.recorder.trigger();
  }

  /** The successes so far, in one statement per 500. */
  private async recordDelivered(): Promise<void> {
    while (this.delivered.length > 0) {
      const done = this.delivered.splice(0, 500);
      // `attempts = a` guards against a stale worker overwriting a newer claim.
      await this.db.pool.query(
        `UPDATE webhook_delivery d SET status = 'DELIVERED', delivered_at = ${UTC_NOW}, last_status = u.s, last_error = NULL
           FROM unnest($1::uuid[], $2::int[], $3::int[]) AS u(id, a, s)
          WHERE d.id = u.id AND d.attempts = u.a`,
        [done.map((d) => d.delivery.id), done.map((d) => d.delivery.attempts), done.map((d) => d.attempt.status)],
      );
      for (const { delivery } of done) {
        const lagMs = Date.now() - new Date((delivery.payload as { recordedAt: string }).recordedAt).getTime();
        this.metrics?.delivered(lagMs);
        this.logger.debug(
          {
            delivery: delivery.id,
            subscription: delivery.subscription_id,
            target: targetForLogs(delivery.url),
            attempts: delivery.attempts,
            lagMs,
          },
          'webhook delivered',
        );
      }
    }
  }

  private async settleFailed(delivery: Claimed, attempt: Attempt): Promise<void> {
    const schedule = this.options.retrySchedule;
    const params = [delivery.id, delivery.attempts, attempt.status, attempt.error];
    // Logs name the target by scheme, host and port: its path and query may hold a token.
    const about = {
      delivery: delivery.id,
      subscription: delivery.subscription_id,
      target: targetForLogs(delivery.url),
      attempts: delivery.attempts,
      error: attempt.error,
    };
    // A refused target is not tried again: retries could only probe the address.
    if (attempt.refused || delivery.attempts > schedule.length) {
      await this.db.pool.query(
        `UPDATE webhook_delivery SET status = 'DEAD', last_status = $3, last_error = $4 WHERE id = $1 AND attempts = $2`,
        params,
      );
      this.metrics?.deadLettered(attempt.refused ? 'refused' : 'exhausted');
      this.logger.warn(about, attempt.refused ? 'webhook target refused; dead-lettered without sending' : 'webhook dead-lettered');
      return;
    }
    const delayMs = schedule[delivery.attempts - 1];
    await this.db.pool.query(
      `UPDATE webhook_delivery SET next_attempt_at = ${UTC_NOW} + make_interval(secs => $5::double precision / 1000),
              last_status = $3, last_error = $4
        WHERE id = $1 AND attempts = $2`,
      [...params, delayMs],
    );
    this.logger.info({ ...about, retryInMs: delayMs }, 'webhook attempt failed');
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
