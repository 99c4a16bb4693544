// node bench/floor-only.ts [--quick]: section 1b alone (enforced / baseline / floor on the three
// pages), on the benchmark's database (created and seeded when missing, as `npm run bench` does;
// BENCH_DATABASE_URL overrides), without the access records of earlier runs; prints the table, writes
// nothing else.
import pg from 'pg';
import { cleanUp } from './children.ts';
import { prepareDatabase } from './database.ts';
import { measureFloor } from './floor-compare.ts';
import { Report } from './report.ts';
import { startVariant, warmUp } from './servers.ts';
const target = await prepareDatabase();
const client = new pg.Client({ connectionString: target.dbOptions.databaseUrl });
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
