import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { listen } from '../db/listen.ts';

// How a committed change to an API client reaches every client directory
// (src/http/clients.ts), so that a revoked key stops working everywhere at once.
//
// Across instances: the change's transaction runs pg_notify on CLIENTS_CHANNEL
// (PostgreSQL delivers it at commit), and each process LISTENs on a connection
// of its own, as the propagation listener does (src/propagation/listener.ts).
// Within the process: a direct call after commit (announceClientsChanged). That
// is what reaches the directories of an embedded database, the only process
// that can hold it: PGlite's socket server hands a NOTIFY to the connection
// that committed, not to a listener, nor to PGlite's own in-process listen
// (subscribed all the same, should that change).
//
// A notification only says "drop your cache": the directory reads the row
// again on the next request. A notification lost while the listening
// connection is down is covered by the directory's 1-second re-validation and
// by a cache drop on every (re)connect.

export const CLIENTS_CHANNEL = 'consentql_clients';

type OnChange = () => void;

/** After a client change committed through `db`: the directories of this process drop their caches now. */
export function announceClientsChanged(db: Database): void {
  db.signals.clientsChanged.emit();
}

/**
 * Calls `onChange` after every committed client change, from any process, and
 * whenever a change may have been missed (the listening connection came back),
 * until the returned function is called. The first watcher of a database
 * handle starts its one listener; closing the database stops it.
 */
export function watchClientChanges(db: Database, onChange: OnChange, logger?: Logger): () => void {
  if (!db.signals.listening.has(CLIENTS_CHANNEL)) {
    db.signals.listening.add(CLIENTS_CHANNEL);
    const listener = startListener(db, logger, () => db.signals.clientsChanged.emit());
    // Whoever opened the database (the app, a test, a script) closes it, and the listening connection with it.
    db.onClose(() => listener.stop());
  }
  return db.signals.clientsChanged.on(onChange);
}

function startListener(db: Database, logger: Logger | undefined, onChange: OnChange): { stop(): Promise<void> } {
  // In the background: a directory works without it, re-validating each key within a second.
  const listening = listen(db, CLIENTS_CHANNEL, onChange, { name: 'API client change listener', logger }).catch((error) => {
    logger?.warn({ err: error }, 'API client change listener could not start; client changes apply within a second instead');
    return null;
  });
  return {
    async stop() {
      await (await listening)?.stop().catch(() => {});
    },
  };
}
