// npm run db:migrate — applies prisma/migrations to the PostgreSQL database in
// DATABASE_URL (what `prisma migrate deploy` does, which needs a native engine
// this machine cannot download). The embedded database needs no command: the
// server migrates it at start.
import pg from 'pg';
import { requirePostgresUrl } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';

async function main(): Promise<number> {
  let url: string;
  try {
    url = requirePostgresUrl('db:migrate');
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  // One client, not a pool: the advisory lock and the transactions must share a session.
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { applied } = await migrate(client, { log: (msg) => console.log(msg) });
    console.log(applied.length === 0 ? 'database is up to date' : `applied ${applied.length}: ${applied.join(', ')}`);
    return 0;
  } catch (err) {
    console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

process.exitCode = await main();
