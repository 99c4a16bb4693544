import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';

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

const RECONNECT_MS = 1000;

type OnChange = () => void;

interface Watch {
  subscribers: Set<OnChange>;
  listener: { stop(): Promise<void> };
}

const watches = new WeakMap<Database, Watch>();

function notify(watch: Watch): void {
  for (const subscriber of watch.subscribers) subscriber();
}

/** After a client change committed through `db`: the directories of this process drop their caches now. */
export function announceClientsChanged(db: Database): void {
  const watch = watches.get(db);
  if (watch) notify(watch);
}

/**
 * Calls `onChange` after every committed client change, from any process, and
 * whenever a change may have been missed (the listening connection came back).
 * The first watcher of a database starts its listener; `db.close()` stops it.
 */
export function watchClientChanges(db: Database, onChange: OnChange, logger?: Logger): () => void {
  let watch = watches.get(db);
  if (!watch) {
    const subscribers = new Set<OnChange>();
    const created: Watch = { subscribers, listener: startListener(db, logger, () => notify(created)) };
    watches.set(db, created);
    // The listener lives as long as the database handle: whoever opened it
    // (the app, a test, a script) closes it, and the listening connection with it.
    const close = db.close;
    db.close = async () => {
      watches.delete(db);
      await created.listener.stop();
      await close.call(db);
    };
    watch = created;
  }
  const subscribers = watch.subscribers;
  subscribers.add(onChange);
  return () => subscribers.delete(onChange);
}

function startListener(db: Database, logger: Logger | undefined, onChange: OnChange): { stop(): Promise<void> } {
  if (db.embedded) {
    const unlisten = db.embedded.listen(CLIENTS_CHANNEL, () => onChange()).catch((error) => {
      logger?.warn({ err: error }, 'API client change listener could not start; client changes apply within a second instead');
      return null;
    });
    return {
      async stop() {
        const stop = await unlisten;
        await stop?.().catch(() => {});
      },
    };
  }

  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    const next = new pg.Client(db.pool.options);
    next.on('notification', () => onChange());
    next.on('error', (error) => {
      logger?.warn({ err: error }, 'API client change listener lost its connection; reconnecting');
      next.end().catch(() => {});
      if (client === next) client = null;
      onChange();
      schedule();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CLIENTS_CHANNEL}`);
    } catch (error) {
      next.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    onChange(); // whatever changed while not listening
  };
  const attempt = () => {
    connecting = connect()
      .catch((error) => {
        logger?.warn({ err: error }, 'API client change listener could not connect; retrying (client changes apply within a second meanwhile)');
        schedule();
      })
      .finally(() => {
        connecting = null;
      });
  };
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      attempt();
    }, RECONNECT_MS);
    timer.unref();
  };

  attempt();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await connecting;
      await client?.end().catch(() => {});
      client = null;
    },
  };
}
