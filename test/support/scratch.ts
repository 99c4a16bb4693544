import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';
import { databaseUrl } from './app.ts';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * An empty database of a test's own, never the shared test database: on
 * PostgreSQL a new database next to it (dropped afterwards), on PGlite an
 * in-memory instance behind its own socket server.
 */
export async function emptyDatabase(name: string): Promise<ScratchDatabase> {
  if (inject('databaseKind') === 'postgresql') {
    const scratch = `${name}_${process.pid}`;
    const admin = new URL(databaseUrl());
    admin.pathname = '/postgres';
    const run = async (sql: string) => {
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await run(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await run(`CREATE DATABASE ${scratch}`);
    const url = new URL(databaseUrl());
    url.pathname = `/${scratch}`;
    return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`) };
  }
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 8 });
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres`,
    async drop() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * On PostgreSQL, test files run two at a time on the shared test database.
 * A file whose oracle reads every customer once (and must not see other
 * files' customers appear) gets a database of its own, migrated and seeded
 * like the shared one; on PGlite files take turns, and it uses the shared one.
 */
export async function isolatedDatabase(name: string): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (inject('databaseKind') !== 'postgresql') return { url: undefined, drop: async () => {} };
  const scratch = await emptyDatabase(name);
  const pool = new pg.Pool({ connectionString: scratch.url, max: 2 });
  try {
    await migrate(pool);
    await syncPurposes(pool);
    await seed(pool);
  } finally {
    await pool.end();
  }
  return scratch;
}
