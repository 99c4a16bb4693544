import pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { OUTBOX_CHANNEL } from '../consent/notify.ts';

// Wakes this instance when another one commits a consent change. On
// PostgreSQL: a dedicated connection (LISTEN needs a session of its own, not a
// pooled one) that reconnects after a failure and then asks for a catch-up,
// since notifications sent while it was away are lost. Embedded: PGlite's own
// in-process listen.

const RECONNECT_MS = 1000;

export interface OutboxListener {
  stop(): Promise<void>;
}

export async function listenForCommits(db: Database, logger: Logger, onWake: () => void): Promise<OutboxListener> {
  if (db.embedded) {
    const unlisten = await db.embedded.listen(OUTBOX_CHANNEL, () => onWake());
    return { stop: () => unlisten() };
  }
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    const next = new pg.Client(db.pool.options);
    next.on('notification', () => onWake());
    next.on('error', (error) => {
      logger.warn({ err: error }, 'consent change listener lost its connection; reconnecting');
      next.end().catch(() => {});
      if (client === next) client = null;
      schedule();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (error) {
      next.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await next.end();
      return;
    }
    client = next;
    onWake(); // catch up on what was committed while not listening
  };
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect().catch((error) => {
        logger.warn({ err: error }, 'consent change listener could not reconnect; retrying');
        schedule();
      });
    }, RECONNECT_MS);
    timer.unref();
  };

  await connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client?.end().catch(() => {});
    },
  };
}
