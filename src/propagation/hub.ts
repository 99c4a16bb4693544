import { Repeater } from 'graphql-yoga';
import type { Logger } from 'pino';
import { SerialTask } from './serial-task.ts';
import type { Database } from '../db/database.ts';
import { onCommitted } from '../consent/notify.ts';
import { latestCursor, readChanges, type ConsentChange } from './changes.ts';
import { listenForCommits, type OutboxListener } from './listener.ts';

// One change hub per database per process. It follows the outbox from where it
// stood at start and hands each new change to the live `consentChanged`
// subscribers and to the webhook dispatcher. A notification only says "look":
// the rows are read from the database, so every instance sees every change
// whichever instance committed it, and a lost notification costs at most one
// poll interval.

const BATCH = 500;

export interface ChangeFilter {
  purposes: readonly string[] | null;
  customerId: string | null;
}

type Subscriber = (change: ConsentChange) => void;

export class ChangeHub {
  private cursor = 0n;
  private readonly subscribers = new Set<Subscriber>();
  private readonly observers = new Set<() => void>();
  private readonly pumping: SerialTask;
  private listener: OutboxListener | null = null;
  private unsubscribeLocal: (() => void) | null = null;
  private poll: NodeJS.Timeout | undefined;

  private readonly db: Database;
  private readonly logger: Logger;
  private readonly pollIntervalMs: number;

  constructor(db: Database, logger: Logger, pollIntervalMs: number) {
    this.db = db;
    this.logger = logger;
    this.pollIntervalMs = pollIntervalMs;
    this.pumping = new SerialTask(
      () => this.pump(),
      (error) => this.logger.warn({ err: error }, 'reading new consent changes failed; the next poll retries'),
    );
  }

  async start(): Promise<void> {
    this.cursor = await latestCursor(this.db.prisma);
    this.unsubscribeLocal = onCommitted(this.db, () => this.wake());
    this.listener = await listenForCommits(this.db, this.logger, () => this.wake());
    this.poll = setInterval(() => this.wake(), this.pollIntervalMs);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    this.unsubscribeLocal?.();
    await this.listener?.stop();
    await this.pumping.stop();
  }

  /** Called after every batch of new changes (the dispatcher fans them out). */
  onChanges(observer: () => void): void {
    this.observers.add(observer);
  }

  wake(): void {
    this.pumping.trigger();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const changes = await readChanges(this.db.prisma, this.cursor, BATCH, null);
      if (changes.length === 0) return;
      this.cursor = BigInt(changes[changes.length - 1].cursor);
      for (const change of changes) for (const subscriber of this.subscribers) subscriber(change);
      for (const observer of this.observers) observer();
      if (changes.length < BATCH) return;
    }
  }

  /** Live changes matching `filter`, from now on, until the consumer stops. */
  subscribe(filter: ChangeFilter): AsyncIterableIterator<ConsentChange> {
    return new Repeater<ConsentChange>(async (push, stop) => {
      const subscriber: Subscriber = (change) => {
        if (filter.purposes && !filter.purposes.includes(change.purpose)) return;
        if (filter.customerId && filter.customerId !== change.customerId) return;
        push(change).catch(() => {});
      };
      this.subscribers.add(subscriber);
      await stop;
      this.subscribers.delete(subscriber);
    });
  }
}
