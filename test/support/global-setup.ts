import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { migrate } from '../../src/db/migrate.ts';
import { seed, syncPurposes } from '../../src/db/seed.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: 'pglite' | 'postgresql';
  }
}

/**
 * Starts the test database once per run: the embedded PGlite served on a
 * loopback port, or the PostgreSQL named by TEST_DATABASE_URL (its public
 * schema is dropped first: point it at a database kept for tests). Both are
 * migrated and seeded with the demo data, the same way `npm start` does.
 */
export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL;
  let url: string;
  let stop: () => Promise<void>;
  if (external) {
    url = external;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
    await admin.end();
    stop = async () => {};
  } else {
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 64 });
    await server.start();
    url = `postgresql://postgres@${server.getServerConn()}/postgres`;
    stop = async () => {
      await server.stop();
      await db.close();
    };
  }
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await migrate(pool);
  await syncPurposes(pool);
  await seed(pool);
  await pool.end();
  project.provide('databaseUrl', url);
  project.provide('databaseKind', external ? 'postgresql' : 'pglite');
  return stop;
}
