// Propagation settings (read from the environment by src/config.ts): the
// retry schedule is configurable so that tests (and impatient deployments)
// need not wait hours for a dead letter.

export interface PropagationOptions {
  /** Delays before each retry after the first attempt; its length + 1 attempts in all, then DEAD. */
  retrySchedule: readonly number[];
  /** An attempt that has not answered by then counts as failed. */
  timeoutMs: number;
  /** Safety net: how often to look for work even without a notification. */
  pollIntervalMs: number;
  /** Deliveries sent at once per instance. */
  concurrency: number;
  /**
   * Deliveries sent at once per instance to one subscriber, so that a slow or
   * dead endpoint holds at most these slots and the others keep flowing.
   * Unset: half of `concurrency`, rounded up (perSubscriptionLimit).
   */
  concurrencyPerSubscription?: number;
  /**
   * Hosts that may be webhook targets although not public: host names (any
   * address they resolve to), IP addresses and CIDR ranges. Empty by default:
   * loopback, private, link-local, CGNAT, multicast and metadata addresses are
   * refused. For development and tests (`127.0.0.1,localhost`) or a
   * deployment whose subscribers live on an internal network (`10.20.0.0/16`).
   */
  allowHosts: readonly string[];
  /** Turn the webhook dispatcher off on this instance (subscriptions keep working). */
  dispatch: boolean;
}

/** Standard Webhooks' suggested schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "100ms,2s,5m" → [100, 2000, 300000]; an empty string means no retries. */
export function parseDurations(text: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const match = /^\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(part);
    if (!match) {
      throw new Error(
        `A duration list expects values such as "500ms", "5s", "5m" or "2h" separated by commas, but got ${JSON.stringify(part)} in ${JSON.stringify(text)}.`,
      );
    }
    return Number(match[1]) * UNITS[match[2]];
  });
}

/** Slots one subscriber may hold: by default half, so that one dead endpoint cannot take them all. */
export function perSubscriptionLimit(options: Pick<PropagationOptions, 'concurrency' | 'concurrencyPerSubscription'>): number {
  return Math.max(1, Math.min(options.concurrency, options.concurrencyPerSubscription ?? Math.ceil(options.concurrency / 2)));
}
