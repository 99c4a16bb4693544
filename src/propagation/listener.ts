import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { listen, type Listening } from '../db/listen.ts';
import { OUTBOX_CHANNEL } from '../consent/notify.ts';

// Wakes this instance when another one commits a consent change; a wake after
// a lost connection asks for a catch-up (src/db/listen.ts).

export type OutboxListener = Listening;

export function listenForCommits(db: Database, logger: Logger, onWake: () => void): Promise<OutboxListener> {
  return listen(db, OUTBOX_CHANNEL, onWake, { name: 'consent change listener', logger, failFast: true });
}
