// The benchmark's data set: the demo data scaled up (BENCH_CUSTOMERS), in its own
// PostgreSQL database, created and seeded once and reused by later runs; or,
// where no PostgreSQL is reachable, an embedded (PGlite) copy per server.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../src/db/migrate.ts';
import { DEMO_PERSONAS, seed, syncDemoClients, type SeedClient } from '../src/db/seed.ts';
import { openDatabase, type OpenOptions } from '../src/db/database.ts';
import { ROOT, tempDir } from './children.ts';
import { CUSTOMERS, log } from './settings.ts';

export interface Target {
  /** How the servers reach the database: DATABASE_URL, or DATA_DIR copies of one embedded database. */
  env(variant: string): Record<string, string>;
  dbOptions: OpenOptions;
  description: string;
  postgres: boolean;
}

// One database per data-set size, so that a quick run does not reseed the full one.
const DEFAULT_URL = `postgresql://postgres@127.0.0.1:5432/consentql_bench${CUSTOMERS === 100_000 ? '' : `_${CUSTOMERS}`}`;
const PROTECTED_DATABASES = new Set(['test', 'root', 'postgres', 'template0', 'template1']);

/** BENCH_DATABASE_URL, or the default database (created if missing), or the embedded fallback. */
export async function prepareDatabase(): Promise<Target> {
  const url = process.env.BENCH_DATABASE_URL ?? DEFAULT_URL;
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (PROTECTED_DATABASES.has(name)) {
    throw new Error(
      `BENCH_DATABASE_URL names the database "${name}", which the benchmark must not touch (it resets its data). Use a dedicated one, e.g. ${DEFAULT_URL}.`,
    );
  }
  let client: pg.Client | undefined;
  try {
    if (!process.env.BENCH_DATABASE_URL) await createDatabaseIfMissing(url, name);
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await client.connect();
  } catch (error) {
    await client?.end().catch(() => {});
    log(`no PostgreSQL reachable at ${url} (${(error as Error).message}); falling back to the embedded database (PGlite)`);
    return prepareEmbedded();
  }
  try {
    await migrate(client);
    const version = (await client.query('SHOW server_version')).rows[0].server_version as string;
    await prepareData(client);
    await client.query('VACUUM ANALYZE');
    return {
      env: () => ({ DATABASE_URL: url }),
      dbOptions: { databaseUrl: url },
      description: `PostgreSQL ${version} (${new URL(url).host}, database ${name})`,
      postgres: true,
    };
  } finally {
    await client.end();
  }
}

async function createDatabaseIfMissing(url: string, name: string) {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      log(`creating database ${name}`);
      await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } finally {
    await c.end();
  }
}

/** Seeds unless the data set already has the wanted size, and clears what earlier runs left behind. */
async function prepareData(client: SeedClient) {
  const want = CUSTOMERS + DEMO_PERSONAS.length;
  const have = (await client.query('SELECT count(*)::int AS n FROM customer')).rows[0].n as number;
  if (have === want) log(`reusing ${have.toLocaleString('en-US')} customers`);
  else {
    log(`seeding ${CUSTOMERS.toLocaleString('en-US')} customers (had ${have}); this takes about ${Math.ceil(CUSTOMERS / 1700)} s`);
    await seed(client, { customers: CUSTOMERS, reset: true });
  }
  await syncDemoClients(client); // a data set seeded by an older version lacks newer demo clients
  // Every run starts without the access records of earlier runs (a page read adds a row per subject).
  await client.query('TRUNCATE access_record, access_subject');
  // Section 3's webhook receivers, left registered by a run that was interrupted: they point at
  // closed ports, so every change would also be sent (and retried) to them while section 3 measures.
  await client.query(`UPDATE webhook_subscription SET active = false WHERE active AND url LIKE 'http://127.0.0.1:%/hook'`);
}

/** PGlite fallback: one seeded data directory, copied once per server (PGlite is single-process). */
async function prepareEmbedded(): Promise<Target> {
  const dir = path.join(ROOT, '.data', `bench-${CUSTOMERS}`);
  const db = await openDatabase({ dataDir: dir });
  try {
    await migrate(db.pool);
    await prepareData(db.pool);
  } finally {
    await db.close();
  }
  const copyOf = (variant: string) => {
    const copy = tempDir(`consentql-bench-${variant}-`);
    fs.cpSync(dir, copy, { recursive: true });
    return copy;
  };
  return {
    env: (variant) => ({ DATA_DIR: copyOf(variant) }),
    dbOptions: { dataDir: copyOf('round-trips') },
    description: 'embedded PGlite (NOTE: no PostgreSQL was reachable; figures are not those of a PostgreSQL deployment)',
    postgres: false,
  };
}
