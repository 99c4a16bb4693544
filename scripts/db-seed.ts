// npm run db:seed [-- --reset] [-- --customers=N] — migrates the PostgreSQL
// database in DATABASE_URL and fills it with the deterministic demo data set
// (customers, consent histories, demo API clients; see src/db/seed.ts).
// Refuses if customers already exist; --reset deletes ALL data first.
import pg from 'pg';
import { migrate } from '../src/db/migrate.ts';
import { DEFAULT_SEED_CUSTOMERS, DEMO_PERSONAS, SeedRefusedError, seed } from '../src/db/seed.ts';
import { DEMO_CLIENTS } from '../src/db/demo-clients.ts';

const USAGE = 'usage: npm run db:seed -- [--reset] [--customers=N]';

function parseArgs(argv: string[]): { reset: boolean; customers: number } | string {
  let reset = false;
  let customers = DEFAULT_SEED_CUSTOMERS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reset') reset = true;
    else if (arg === '--customers' || arg.startsWith('--customers=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      customers = Number(value);
      if (!Number.isInteger(customers) || customers < 0) return `--customers expects a whole number, got ${value}. ${USAGE}`;
    } else if (arg === '--help' || arg === '-h') return USAGE;
    else return `unknown argument ${arg}. ${USAGE}`;
  }
  return { reset, customers };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    console.error(args);
    return 2;
  }
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error(
      'DATABASE_URL is not set. Expected a PostgreSQL URL such as postgresql://postgres@127.0.0.1:5432/consentql; ' +
        'set it (DATABASE_URL=... npm run db:seed) and run again. (The embedded database is seeded by `npm start` itself.)',
    );
    return 2;
  }
  // One client, not a pool: the migration lock and the seed transaction each need one session.
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { applied } = await migrate(client, { log: (m) => console.log(m) });
    console.log(applied.length === 0 ? 'database is up to date' : `applied ${applied.length} migration(s)`);
    const summary = await seed(client, { ...args, log: (m) => console.log(m) });
    console.log(`\nseeded ${summary.customers} customers (${summary.personas} personas) in ${summary.elapsedMs} ms`);
    console.table(summary.rows);
    console.log('personas:', DEMO_PERSONAS.map((p) => p.externalId).join(', '));
    console.log('demo API keys (development only):');
    for (const c of DEMO_CLIENTS) console.log(`  ${c.name.padEnd(22)} ${c.apiKey.padEnd(26)} ${c.allowedPurposes.join(', ')}`);
    return 0;
  } catch (err) {
    if (err instanceof SeedRefusedError) {
      console.error(err.message);
      return 3;
    }
    console.error(`seed failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await client.end().catch(() => {});
  }
}

process.exitCode = await main();
