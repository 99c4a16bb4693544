import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';
import { propagationOptionsFromEnv, type PropagationOptions } from './config.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { ChangeHub, registerHub, unregisterHub } from './hub.ts';

// Composition of the propagation side for one process: the change hub (live
// subscriptions, woken by LISTEN/NOTIFY) and the webhook dispatcher.

export type { PropagationOptions } from './config.ts';
export { hubFor } from './hub.ts';

export interface Propagation {
  hub: ChangeHub;
  dispatcher: WebhookDispatcher | null;
  stop(): Promise<void>;
}

const dispatchers = new WeakMap<Database, WebhookDispatcher>();

export async function startPropagation(
  db: Database,
  logger: Logger,
  /** Names subjects in webhook notices by their per-purpose pseudonym. */
  masker: Masker,
  overrides: Partial<PropagationOptions> = {},
): Promise<Propagation> {
  const options = { ...propagationOptionsFromEnv(), ...overrides };
  const hub = new ChangeHub(db, logger, options.pollIntervalMs);
  await hub.start();
  registerHub(db, hub);
  let dispatcher: WebhookDispatcher | null = null;
  if (options.dispatch) {
    const started = new WebhookDispatcher(db, logger, options, masker);
    dispatcher = started;
    dispatchers.set(db, started);
    hub.onChanges(() => started.kick());
    started.start();
  }
  logger.debug({ retrySchedule: options.retrySchedule, dispatch: options.dispatch }, 'consent propagation started');
  return {
    hub,
    dispatcher,
    async stop() {
      unregisterHub(db, hub);
      if (dispatcher && dispatchers.get(db) === dispatcher) dispatchers.delete(db);
      await dispatcher?.stop();
      await hub.stop();
    },
  };
}

/** Asks this process's dispatcher to look for work now (after a replay). */
export function kickDispatcher(db: Database): void {
  dispatchers.get(db)?.kick();
}
