// npm run db:seed [-- --reset] [-- --customers=N] — migrates the PostgreSQL
// database in DATABASE_URL and fills it with the deterministic demo data set
// (customers, consent histories, demo API clients; see src/db/seed.ts).
// Refuses if customers already exist; --reset deletes ALL data first.
// Refuses under NODE_ENV=production (the demo clients' keys are published)
// unless forced with --allow-demo-clients.
import pg from 'pg';
import { requirePostgresUrl } from '../src/config.ts';
import { migrate } from '../src/db/migrate.ts';
import { DEFAULT_SEED_CUSTOMERS, DEMO_PERSONAS, SeedRefusedError, seed } from '../src/db/seed.ts';
import { ALLOW_DEMO_CLIENTS_FLAG, DEMO_CLIENTS, demoSeedRefusal } from '../src/db/demo-clients.ts';

const USAGE = `usage: npm run db:seed -- [--reset] [--customers=N] [${ALLOW_DEMO_CLIENTS_FLAG}]`;

function parseArgs(argv: string[]): { reset: boolean; customers: number; allowDemoClients: boolean } | string {
  let reset = false;
  let allowDemoClients = false;
  let customers = DEFAULT_SEED_CUSTOMERS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reset') reset = true;
    else if (arg === ALLOW_DEMO_CLIENTS_FLAG) allowDemoClients = true;
    else if (arg === '--customers' || arg.startsWith('--customers=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      customers = Number(value);
      if (!Number.isInteger(customers) || customers < 0) return `--customers expects a whole number, got ${value}. ${USAGE}`;
    } else if (arg === '--help' || arg === '-h') return USAGE;
    else return `unknown argument ${arg}. ${USAGE}`;
  }
  return { reset, customers, allowDemoClients };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    console.error(args);
    return 2;
  }
  // Before connecting: nothing is written to a production database by mistake.
  const refusal = demoSeedRefusal(process.env.NODE_ENV, args.allowDemoClients);
  if (refusal) {
    console.error(refusal);
    return 3;
  }
  let url: string;
  try {
    url = requirePostgresUrl('db:seed');
  } catch (error) {
    console.error(`${(error as Error).message} (The embedded database is seeded by \`npm start\` itself.)`);
    return 2;
  }
  // One client, not a pool: the migration lock and the seed transaction each need one session.
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { applied } = await migrate(client, { log: (m) => console.log(m) });
    console.log(applied.length === 0 ? 'database is up to date' : `applied ${applied.length} migration(s)`);
    const summary = await seed(client, { reset: args.reset, customers: args.customers, log: (m) => console.log(m) });
    console.log(`\nseeded ${summary.customers} customers (${summary.personas} personas) in ${summary.elapsedMs} ms`);
    console.table(summary.rows);
    console.log('personas:', DEMO_PERSONAS.map((p) => p.externalId).join(', '));
    console.log('demo API keys (development only):');
    for (const c of DEMO_CLIENTS) console.log(`  ${c.name.padEnd(22)} ${c.apiKey.padEnd(26)} ${c.allowedPurposes.join(', ')}`);
    if (process.env.NODE_ENV === 'production') {
      console.warn(
        `warning: demo clients written under NODE_ENV=production (${ALLOW_DEMO_CLIENTS_FLAG}); ` +
          'a production start refuses this database until they are deleted or their keys rotated.',
      );
    }
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
