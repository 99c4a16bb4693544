import type { ExecutionResult } from 'graphql';
import { ConsentQLError } from '../errors.ts';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.ts';

// Each open subscription holds a stream, a hub subscriber and a connection
// for as long as the client keeps it: one client must not be able to hold
// them by the hundred. A cap per client id, per instance, in memory: a slot
// is taken when a subscription's stream starts and given back when it ends
// (the client went away, the stream finished or failed), whichever comes first.

/** 429, with a code: the client already holds as many open subscriptions as it may. */
export class TooManySubscriptionsError extends ConsentQLError {
  constructor(clientName: string, limit: number) {
    super(
      'TOO_MANY_SUBSCRIPTIONS',
      `Client "${clientName}" already has ${limit} open subscriptions on this instance, the most it may hold. ` +
        'Close one you no longer need (one subscription can follow several purposes), or poll consentChanges instead.',
      { limit },
    );
  }
}

export class SubscriptionSlots {
  private readonly open = new Map<string, number>();
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes a slot for this client: a function that gives it back (once), or null when none is free. */
  take(clientId: string): (() => void) | null {
    const held = this.open.get(clientId) ?? 0;
    if (held >= this.limit) return null;
    this.open.set(clientId, held + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const now = (this.open.get(clientId) ?? 1) - 1;
      if (now <= 0) this.open.delete(clientId);
      else this.open.set(clientId, now);
    };
  }

  held(clientId: string): number {
    return this.open.get(clientId) ?? 0;
  }
}

/**
 * Wraps each subscription's start (after the purpose gate, which
 * authenticates: a subscription always has a client) so that it holds a slot
 * for exactly as long as its stream lives. A refused or failed start gives
 * its slot back at once.
 */
export function useSubscriptionCap(slots: SubscriptionSlots): Plugin<Context> {
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      setSubscribeFn(async (subscribeArgs) => {
        const client = (args.contextValue as Context).client;
        // Without a client the gate has refused already; nothing to count.
        if (!client) return subscribeFn(subscribeArgs);
        const release = slots.take(client.id);
        if (!release) return { errors: [new TooManySubscriptionsError(client.name, slots.limit)] } satisfies ExecutionResult;
        try {
          const result = await subscribeFn(subscribeArgs);
          if (!isAsyncIterable(result)) {
            release();
            return result;
          }
          return untilDone(result, release, (args.contextValue as Context).request?.signal);
        } catch (error) {
          release();
          throw error;
        }
      });
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * The same stream, calling `done` once when it finishes, fails or is closed
 * by its consumer, or when the request is aborted (the client went away:
 * the stream is closed then too, whether or not anyone is still reading it).
 */
function untilDone<T>(source: AsyncIterable<T>, done: () => void, signal: AbortSignal | undefined): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const onAbort = () => void wrapped.return().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  const finish = () => {
    signal?.removeEventListener('abort', onAbort);
    done();
  };
  const wrapped = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const step = await iterator.next();
        if (step.done) finish();
        return step;
      } catch (error) {
        finish();
        throw error;
      }
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      finish();
      return iterator.return ? iterator.return(value) : { done: true, value: value as T };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      finish();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
  if (signal?.aborted) onAbort();
  return wrapped;
}
