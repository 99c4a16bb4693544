import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';
import { databaseUrl } from './app.ts';

/**
 * On PostgreSQL, test files run two at a time on the shared test database.
 * A file whose oracle reads every customer once (and must not see other
 * files' customers appear) gets a database of its own, migrated and seeded
 * like the shared one; on PGlite files take turns, and it uses the shared one.
 */
export async function isolatedDatabase(name: string): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  if (!process.env.TEST_DATABASE_URL) return { url: undefined, drop: async () => {} };
  const scratch = `${name}_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${scratch}`);
  const url = new URL(databaseUrl());
  url.pathname = `/${scratch}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  try {
    await migrate(pool);
    await syncPurposes(pool);
    await seed(pool);
  } finally {
    await pool.end();
  }
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`) };
}
