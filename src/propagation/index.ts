import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';
import type { PropagationOptions } from './config.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { ChangeHub } from './hub.ts';
import { NatsSink } from './nats-sink.ts';
import type { NatsSinkOptions } from './nats-options.ts';
import type { PropagationMetrics } from '../http/metrics.ts';
import { targetPolicy, type TargetPolicy } from './targets.ts';

// Composition of the propagation side for one process: the change hub (live
// subscriptions, woken by LISTEN/NOTIFY) and the webhook dispatcher. The
// server hands it to resolvers through the request context (src/server.ts).

export type { PropagationOptions } from './config.ts';

export interface Propagation {
  hub: ChangeHub;
  /** Null where this process leaves delivery to workers (CONSENTQL_ROLE=api, CONSENTQL_WEBHOOK_DISPATCH=off). */
  dispatcher: WebhookDispatcher | null;
  /** Where webhooks may go: creating a subscription checks what its deliveries will. */
  targets: TargetPolicy;
  stop(): Promise<void>;
}

export async function startPropagation(
  db: Database,
  logger: Logger,
  /** Names subjects in webhook notices by their per-purpose pseudonym. */
  masker: Masker,
  options: PropagationOptions,
  extras: {
    /** The NATS JetStream sink on this process too (role `all`); off when absent. Workers run theirs (src/propagation/worker.ts). */
    nats?: NatsSinkOptions | null;
    /** Delivery lag and dead letters (src/http/metrics.ts). */
    metrics?: PropagationMetrics;
  } = {},
): Promise<Propagation> {
  const { nats = null, metrics } = extras;
  const hub = new ChangeHub(db, logger, options.pollIntervalMs);
  await hub.start();
  let dispatcher: WebhookDispatcher | null = null;
  if (options.dispatch) {
    const started = new WebhookDispatcher(db, logger, options, masker, metrics);
    dispatcher = started;
    hub.onChanges(() => started.kick());
    started.start();
  }
  const sink = nats && options.dispatch ? new NatsSink(db, logger, masker, nats, { pollIntervalMs: options.pollIntervalMs }) : null;
  if (sink) {
    hub.onChanges(() => sink.kick());
    await sink.start();
  }
  logger.debug({ retrySchedule: options.retrySchedule, dispatch: options.dispatch }, 'consent propagation started');
  return {
    hub,
    dispatcher,
    targets: targetPolicy(options.allowHosts),
    async stop() {
      await Promise.all([dispatcher?.stop(), sink?.stop()]);
      await hub.stop();
    },
  };
}
