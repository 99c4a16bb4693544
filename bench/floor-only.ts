// node bench/floor-only.ts [--quick]: section 1b alone (enforced / baseline / floor on the three
// pages), on the full benchmark database (BENCH_DATABASE_URL overrides), without the access records of
// earlier runs (as `npm run bench` starts); prints the table, writes nothing else.
import pg from 'pg';
import { cleanUp } from './children.ts';
import { measureFloor } from './floor-compare.ts';
import { Report } from './report.ts';
import { startVariant, warmUp } from './servers.ts';
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/consentql_bench';
const target = { env: () => ({ DATABASE_URL: url }), dbOptions: { databaseUrl: url }, description: 'x', postgres: true };
const client = new pg.Client({ connectionString: url });
await client.connect();
await client.query('TRUNCATE access_record, access_subject');
await client.end();
try {
  const [enforced, baseline] = await Promise.all([startVariant(target, 'enforced'), startVariant(target, 'baseline')]);
  await warmUp(enforced, 20);
  await warmUp(baseline, 20);
  const report = new Report();
  await measureFloor(target, { enforced, baseline }, report);
  console.log(report.table());
  console.log(report.notes.join('\n'));
} finally {
  await cleanUp();
}
