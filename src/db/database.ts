import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';

// One code path for both databases: the embedded PGlite is served over the
// PostgreSQL wire protocol on a loopback port, so Prisma, raw SQL and the
// migration runner all talk `pg` whichever database is behind it.

export interface Database {
  pool: pg.Pool;
  prisma: PrismaClient;
  /** Where the data lives, for the start-up log: a directory or a redacted URL. */
  location: string;
  /** The PGlite instance when embedded (LISTEN/NOTIFY works only in-process there). */
  embedded: PGlite | undefined;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** Data directory of the embedded database; `memory://` for a throw-away one. */
  dataDir?: string;
  /** Connections in the pool; 1 for a PGlite behind a socket (see below). */
  poolSize?: number;
  /** Called with each SQL statement Prisma sends (round-trip counting in tests). */
  onQuery?: (sql: string) => void;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) {
    return connect(options.databaseUrl, redact(options.databaseUrl), undefined, options, async () => {});
  }
  const dataDir = options.dataDir ?? '.data';
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
  const pglite = await PGlite.create(dataDir.startsWith('memory://') ? undefined : dataDir);
  // The default of one connection makes parallel queries fail; PGlite runs
  // them one at a time underneath and keeps each transaction on its handler.
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 32 });
  await server.start();
  const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
  return connect(url, path.resolve(dataDir), pglite, options, async () => {
    await server.stop();
    await pglite.close();
  });
}

async function connect(
  url: string,
  location: string,
  embedded: PGlite | undefined,
  options: OpenOptions,
  closeEmbedded: () => Promise<void>,
): Promise<Database> {
  // PGlite is one session underneath, and its socket server interleaves the
  // messages of concurrent connections, so two connections' unnamed prepared
  // statements would clobber each other: the embedded database gets exactly
  // one connection (it runs one query at a time anyway).
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? (embedded ? 1 : 10) });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => {});
  const adapter = new PrismaPg(pool);
  const prisma = new PrismaClient({
    adapter,
    log: options.onQuery ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (options.onQuery) {
    const onQuery = options.onQuery;
    (prisma as unknown as { $on(e: 'query', cb: (ev: { query: string }) => void): void }).$on('query', (ev) =>
      onQuery(ev.query),
    );
  }
  return {
    pool,
    prisma,
    location,
    embedded,
    async close() {
      await prisma.$disconnect();
      await pool.end();
      await closeEmbedded();
    },
  };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
