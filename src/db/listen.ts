import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from './database.ts';

// LISTEN on a channel of the database. On PostgreSQL: a dedicated connection
// (LISTEN needs a session of its own, not a pooled one) that reconnects after
// a failure. Notifications sent while it was away are lost, so `onNotify` is
// also called when the connection is lost and after every (re)connect: a
// listener treats it as "something may have changed". Embedded: PGlite's own
// in-process listen.

const RECONNECT_MS = 1000;

export interface Listening {
  stop(): Promise<void>;
}

export interface ListenOptions {
  /** Names the listener in log lines. */
  name: string;
  logger?: Logger;
  /** Wait for the first connection and throw if it fails (else keep retrying in the background). */
  failFast?: boolean;
}

export async function listen(db: Database, channel: string, onNotify: () => void, options: ListenOptions): Promise<Listening> {
  const { name, logger } = options;
  if (db.embedded) {
    const unlisten = await db.embedded.listen(channel, () => onNotify());
    return { stop: () => unlisten() };
  }
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    const next = new pg.Client(db.pool.options);
    next.on('notification', () => onNotify());
    next.on('error', (error) => {
      logger?.warn({ err: error }, `${name} lost its connection; reconnecting`);
      next.end().catch(() => {});
      if (client === next) client = null;
      onNotify();
      schedule();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${channel}`);
    } catch (error) {
      next.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    onNotify(); // whatever happened while not listening
  };
  const attempt = () => {
    connecting = connect()
      .catch((error) => {
        logger?.warn({ err: error }, `${name} could not connect; retrying`);
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

  if (options.failFast) await connect();
  else attempt();
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
