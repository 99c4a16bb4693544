import { z } from 'zod';
import { parseAllowHosts, targetPolicy } from './targets.ts';

// Propagation settings, read from the environment like src/config.ts: the
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

const env = z.object({
  CONSENTQL_WEBHOOK_RETRY_SCHEDULE: z.string().default(DEFAULT_RETRY_SCHEDULE),
  CONSENTQL_WEBHOOK_TIMEOUT: z.string().default('10s'),
  CONSENTQL_PROPAGATION_POLL: z.string().default('1s'),
  CONSENTQL_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(32),
  CONSENTQL_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION: z.coerce.number().int().min(1).max(100).optional(),
  CONSENTQL_WEBHOOK_ALLOW_HOSTS: z.string().default(''),
  CONSENTQL_WEBHOOK_DISPATCH: z.enum(['on', 'off']).default('on'),
});

export function propagationOptionsFromEnv(source: NodeJS.ProcessEnv = process.env): PropagationOptions {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid propagation configuration: ${problems}.`);
  }
  const e = parsed.data;
  const single = (name: string, text: string) => {
    const values = parseDurations(text);
    if (values.length !== 1) throw new Error(`${name} expects one duration such as "10s", but got ${JSON.stringify(text)}.`);
    return values[0];
  };
  const allowHosts = parseAllowHosts(e.CONSENTQL_WEBHOOK_ALLOW_HOSTS);
  targetPolicy(allowHosts); // a typo fails at start-up, not at the first delivery
  return {
    retrySchedule: parseDurations(e.CONSENTQL_WEBHOOK_RETRY_SCHEDULE),
    timeoutMs: single('CONSENTQL_WEBHOOK_TIMEOUT', e.CONSENTQL_WEBHOOK_TIMEOUT),
    pollIntervalMs: single('CONSENTQL_PROPAGATION_POLL', e.CONSENTQL_PROPAGATION_POLL),
    concurrency: e.CONSENTQL_WEBHOOK_CONCURRENCY,
    ...(e.CONSENTQL_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION ? { concurrencyPerSubscription: e.CONSENTQL_WEBHOOK_CONCURRENCY_PER_SUBSCRIPTION } : {}),
    dispatch: e.CONSENTQL_WEBHOOK_DISPATCH === 'on',
    allowHosts,
  };
}

/** Slots one subscriber may hold: by default half, so that one dead endpoint cannot take them all. */
export function perSubscriptionLimit(options: Pick<PropagationOptions, 'concurrency' | 'concurrencyPerSubscription'>): number {
  return Math.max(1, Math.min(options.concurrency, options.concurrencyPerSubscription ?? Math.ceil(options.concurrency / 2)));
}
