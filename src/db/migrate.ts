import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Applies prisma/migrations the way `prisma migrate deploy` does and records
// them in the same `_prisma_migrations` table, so that this runner and Prisma's
// native engine (where it can be downloaded) can take turns on one database.
// Offline, Prisma's CLI cannot run migrations at all: hence this runner.

/**
 * One database session (a `pg.Client`, a pool's client): the advisory lock and
 * each transaction belong to one session. A call without `params` must accept
 * several statements at once (simple query protocol, as `pg` does; see
 * `pgliteClient` for an in-process PGlite).
 */
export interface MigrationClient {
  // biome-ignore lint/suspicious/noExplicitAny: rows of whichever driver (pg, PGlite), typed where they are read
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

/** A `pg.Pool`: migrate() checks out one connection of it for the whole run. */
export interface MigrationPool extends MigrationClient {
  connect(): Promise<MigrationClient & { release(err?: Error | boolean): void }>;
  totalCount: number;
}

export interface MigrateOptions {
  migrationsDir?: string;
  log?: (msg: string) => void;
}

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

// The key Prisma's schema engine locks with (72707369), so that our runner and
// a `prisma migrate deploy` started at the same moment also wait for each other.
const LOCK_KEY = 72707369;

// Prisma's own definition (sql-schema-connector, postgres flavour), byte for
// byte in meaning; IF NOT EXISTS because we run it unconditionally.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export function checksum(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Prisma accepts a script whose line endings differ (git on Windows) and old
 * checksums rendered without zero padding; so do we, or we would reject
 * databases that Prisma itself considers fine. */
function matchesChecksum(sql: string, recorded: string): boolean {
  const variants = [sql, sql.replace(/\r\n/g, '\n'), sql.replace(/\n/g, '\r\n')];
  return variants.some((v) => {
    const digest = createHash('sha256').update(v, 'utf8').digest();
    const rendered = recorded.length === 64 ? digest.toString('hex') : [...digest].map((b) => b.toString(16)).join('');
    return rendered === recorded;
  });
}

/** The migrations in apply order: folder names start with a UTC timestamp. */
export function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const file = path.join(dir, name, 'migration.sql');
      if (!fs.existsSync(file)) {
        throw new Error(`Migration folder ${name} has no migration.sql (in ${dir}). Remove the folder or add the script.`);
      }
      const sql = fs.readFileSync(file, 'utf8');
      return { name, sql, checksum: checksum(sql) };
    });
}

export async function migrate(db: MigrationClient | MigrationPool, options: MigrateOptions = {}): Promise<{ applied: string[] }> {
  // A pool fits the `query` shape too, but would spread the lock, BEGIN and
  // COMMIT over different connections: pin one for the whole run.
  if (isPool(db)) {
    const conn = await db.connect();
    try {
      return await migrate(conn, options);
    } finally {
      conn.release();
    }
  }
  const client = db;
  const log = options.log ?? (() => {});
  const dir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  const migrations = readMigrations(dir);
  const applied: string[] = [];

  // Session-level lock: a second server starting at the same time waits here
  // and then finds everything applied. PGlite supports it too (one session).
  await client.query(`SELECT pg_advisory_lock(${LOCK_KEY})`);
  try {
    await client.query(CREATE_TABLE);
    // Rows with rolled_back_at were undone by `prisma migrate resolve
    // --rolled-back`; Prisma ignores them and applies the migration again.
    const { rows } = await client.query(
      `SELECT migration_name, checksum, finished_at FROM _prisma_migrations
        WHERE rolled_back_at IS NULL ORDER BY started_at`,
    );
    const failed = rows.filter((r) => r.finished_at === null);
    if (failed.length > 0) {
      const names = failed.map((r) => r.migration_name).join(', ');
      throw new Error(
        `Migration ${names} was started but never finished on this database (a failed \`prisma migrate deploy\`); ` +
          `no further migrations will be applied. Check the database by hand, then mark it with ` +
          `\`prisma migrate resolve --rolled-back ${failed[0].migration_name}\` (or --applied), or delete its row from _prisma_migrations.`,
      );
    }
    const recorded = new Map<string, string>(rows.map((r) => [r.migration_name, r.checksum]));
    const known = new Set(migrations.map((m) => m.name));
    for (const name of recorded.keys()) {
      if (!known.has(name)) log(`warning: ${name} is recorded in the database but missing from ${dir}`);
    }

    for (const m of migrations) {
      const sum = recorded.get(m.name);
      if (sum !== undefined) {
        if (!matchesChecksum(m.sql, sum)) {
          throw new Error(
            `Migration ${m.name} was edited after it was applied: the database recorded checksum ${sum}, ` +
              `the file ${path.join(dir, m.name, 'migration.sql')} now has ${m.checksum}. ` +
              `Restore the file as it was applied (e.g. git checkout) and put the change in a new migration ` +
              `(npm run db:migration -- <name>).`,
          );
        }
        continue;
      }
      await applyOne(client, m, log);
      applied.push(m.name);
    }
    return { applied };
  } finally {
    // A failed unlock (connection gone) must not hide the error that got us here;
    // the session's end releases the lock anyway.
    await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`).catch(() => {});
  }
}

function isPool(db: MigrationClient | MigrationPool): db is MigrationPool {
  return typeof (db as MigrationPool).connect === 'function' && typeof (db as MigrationPool).totalCount === 'number';
}

// One transaction per migration: a failing script leaves neither half a schema
// nor a row behind, so fixing the file and running again just works. (Prisma
// sends the script as one simple-protocol query, which PostgreSQL also runs as
// one implicit transaction; it does record the failure, we need not.)
async function applyOne(client: MigrationClient, m: MigrationFile, log: (msg: string) => void): Promise<void> {
  const id = randomUUID();
  log(`applying ${m.name}`);
  await client.query('BEGIN');
  try {
    await client.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, clock_timestamp(), 0)`,
      [id, m.checksum, m.name],
    );
    await client.query(m.sql);
    await client.query(`UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, [id]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`Migration ${m.name} failed and was rolled back (nothing recorded): ${reason}`, { cause: err });
  }
}

/** Adapts an in-process PGlite: its `query` is a prepared statement (one
 * statement only), so parameterless calls go through `exec`, which takes
 * whole scripts. */
export function pgliteClient(db: {
  // biome-ignore lint/suspicious/noExplicitAny: rows of whichever driver (pg, PGlite), typed where they are read
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
  // biome-ignore lint/suspicious/noExplicitAny: rows of whichever driver (pg, PGlite), typed where they are read
  exec(sql: string): Promise<Array<{ rows: any[] }>>;
}): MigrationClient {
  return {
    async query(sql, params) {
      if (params && params.length > 0) return db.query(sql, params);
      const results = await db.exec(sql);
      return { rows: results.at(-1)?.rows ?? [] };
    },
  };
}
