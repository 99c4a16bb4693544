import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { createSignals, type DatabaseSignals } from './signals.ts';

// One code path for both databases: the embedded PGlite is served over the
// PostgreSQL wire protocol, so Prisma, raw SQL and the migration runner all
// talk `pg` whichever database is behind it. It has no password and runs as
// superuser, so it listens on a Unix socket in a private (0700) directory,
// never on a TCP port another local user could reach, and its data directory
// is private too. One process at a time may open a data directory.

export interface Database {
  pool: pg.Pool;
  prisma: PrismaClient;
  /** Where the data lives, for the start-up log: a directory or a redacted URL. */
  location: string;
  /** The PGlite instance when embedded (LISTEN/NOTIFY works only in-process there). */
  embedded: PGlite | undefined;
  /** Changes committed through this handle, announced within the process (src/db/signals.ts). */
  signals: DatabaseSignals;
  /**
   * A statement the API sends on every read, as a prepared statement where
   * that pays (see `preparedStatements`); pass it to `pool.query`.
   */
  statement(text: string, values: unknown[]): pg.QueryConfig;
  /** Runs `cleanup` when the database is closed, before its pool ends (listeners holding a connection of their own). */
  onClose(cleanup: () => Promise<void>): void;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  /** Data directory of the embedded database; `memory://` for a throw-away one. */
  dataDir?: string;
  /** Connections in the pool; 1 for a PGlite behind a socket (see below). */
  poolSize?: number;
  /**
   * PostgreSQL only: statement timeout in ms (0: none), so one slow request
   * cannot hold a connection (or the ledger lock) for ever.
   */
  statementTimeoutMs?: number;
  /**
   * PostgreSQL only: the longest a transaction may sit idle, in ms (0: no
   * limit); the statement timeout unless set.
   */
  idleInTransactionTimeoutMs?: number;
  /** The longest to wait for a connection (a new one, or a free one from a full pool), in ms; 0: no limit. Default 10 s. */
  connectTimeoutMs?: number;
  /** Called when an idle pooled connection fails (the pool drops it and opens another when needed); default: a line on stderr. */
  onPoolError?: (error: Error) => void;
  /** Called with each SQL statement sent on a pooled connection, by Prisma or as raw SQL (round-trip counting in tests). */
  onQuery?: (sql: string) => void;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  if (options.databaseUrl) {
    return connect(options.databaseUrl, redact(options.databaseUrl), undefined, options, async () => {});
  }
  const dataDir = options.dataDir ?? '.data';
  const inMemory = dataDir.startsWith('memory://');
  const release = inMemory ? () => {} : lockDataDir(path.resolve(dataDir));
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'consentql-')); // created 0700
  try {
    if (!inMemory) {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      // PGlite writes its files world-readable; a private directory keeps other users out of all of them.
      fs.chmodSync(dataDir, 0o700);
    }
    const pglite = await PGlite.create(inMemory ? undefined : dataDir);
    // The default of one connection makes parallel queries fail; PGlite runs
    // them one at a time underneath and keeps each transaction on its handler.
    const server = new PGLiteSocketServer({ db: pglite, path: path.join(socketDir, '.s.PGSQL.5432'), maxConnections: 32 });
    await server.start();
    const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`;
    return await connect(url, path.resolve(dataDir), pglite, options, async () => {
      await server.stop();
      await pglite.close();
      fs.rmSync(socketDir, { recursive: true, force: true });
      release();
    });
  } catch (error) {
    fs.rmSync(socketDir, { recursive: true, force: true });
    release();
    throw error;
  }
}

/**
 * Takes the data directory for this process: a second process on the same
 * directory (PGlite does not guard it, and two writers corrupt it) is refused,
 * naming the process that holds it. A lock left by a process that died is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = `${dataDir}.lock`;
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new Error(
          `The embedded database in ${dataDir} is in use by process ${holder} (lock file ${lockPath}). ` +
            'One process at a time may open it: stop that process first, or give this one another DATA_DIR.',
        );
      }
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not take the lock ${lockPath} for the embedded database in ${dataDir}: another process raced for it. Try again.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  // PGlite runs one session: a timeout there would cut every other connection's work too.
  const statementTimeout = embedded ? undefined : options.statementTimeoutMs || undefined;
  const idleTimeout = embedded ? undefined : (options.idleInTransactionTimeoutMs ?? options.statementTimeoutMs) || undefined;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? (embedded ? 1 : 10),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: statementTimeout,
    idle_in_transaction_session_timeout: idleTimeout,
  });
  // An idle client losing its connection must not crash the process; it is reported, and the pool replaces it.
  const onPoolError =
    options.onPoolError ?? ((error: Error) => process.stderr.write(`ConsentQL: a pooled database connection failed: ${error.message}\n`));
  pool.on('error', (error) => onPoolError(error));
  if (options.onQuery) {
    // Every statement of every pooled connection, Prisma's and raw SQL alike.
    const onQuery = options.onQuery;
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        const [statement] = args;
        onQuery(typeof statement === 'string' ? statement : String((statement as { text?: string } | null)?.text ?? ''));
        return query(...args);
      }) as typeof client.query;
    });
  }
  // Statements go unnamed until the server is known not to be a PGlite (served by another
  // process, it is one session too: see preparedStatements); asked in the background, so that
  // opening still needs no connection.
  let statement: Database['statement'] = (text, values) => ({ text, values });
  if (!embedded) {
    pool.query<{ version: string }>('SELECT version()').then(
      ({ rows }) => {
        if (!rows[0].version.includes('PGlite')) statement = preparedStatements();
      },
      () => {},
    );
  }
  const adapter = new PrismaPg(pool);
  const prisma = new PrismaClient({ adapter });
  const cleanups: Array<() => Promise<void>> = [];
  return {
    pool,
    statement: (text, values) => statement(text, values),
    prisma,
    location,
    embedded,
    signals: createSignals(),
    onClose(cleanup) {
      cleanups.push(cleanup);
    },
    async close() {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup().catch(() => {})));
      await prisma.$disconnect();
      await pool.end();
      await closeEmbedded();
    },
  };
}

/**
 * Names for the statements the API sends again and again (a page of customers
 * is one statement of several kilobytes whose planning costs as much as its
 * execution): PostgreSQL parses a named statement once per connection, and
 * after five executions plans it once if its generic plan is no costlier than
 * the plans made for each execution's values. The name is the text's hash, so
 * one text has one name on every connection. Each connection keeps what it
 * prepared until it closes, so at most `limit` texts are named per process;
 * others are sent unnamed, as before. Not for PGlite (embedded, or served by
 * another process): it is one session behind all its connections, where a
 * second connection would find the name already taken.
 */
function preparedStatements(limit = 64): Database['statement'] {
  const names = new Map<string, string>();
  return (text, values) => {
    let name = names.get(text);
    if (name === undefined && names.size < limit) {
      name = `consentql_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
      names.set(text, name);
    }
    return { name, text, values };
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
