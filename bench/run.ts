// npm run bench [-- --quick]: what the consent layer costs, measured in one run
// against the same server without it, written to docs/BENCHMARKS.md.
// Environment: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/consentql_bench,
// or consentql_bench_<N> for other sizes; created if missing), BENCH_CUSTOMERS (default 100,000; 5,000 with --quick).
// The four servers of sections 1 and 4 stay up for section 6's longer run, so
// the sections run (and the table lists them) in this order.
import { cleanUp } from './children.ts';
import { measureColdStart } from './cold-start.ts';
import { measureExtract } from './extract.ts';
import { measureImport } from './import.ts';
import { prepareDatabase } from './database.ts';
import { measureMasking } from './masking.ts';
import { measureEmbeddedPeak, measureSoak } from './memory.ts';
import { measurePropagation } from './propagation.ts';
import { machine, Report } from './report.ts';
import { measureRoundTrips } from './round-trips.ts';
import { elapsedSeconds, log, quick } from './settings.ts';

async function main() {
  const report = new Report();
  log(`${quick ? 'QUICK mode' : 'full mode'}; ${machine()}`);
  const target = await prepareDatabase();
  log(`database: ${target.description}`);

  const servers = await measureMasking(target, report); // 1 and 4
  const ledger = await measureRoundTrips(target, report); // 2
  await measureSoak(servers, target.postgres, report); // 6, on PostgreSQL
  for (const server of Object.values(servers)) await server.stop();
  await measurePropagation(target, ledger, report); // 3
  const embedded = await measureColdStart(report); // 5
  await measureEmbeddedPeak(embedded, report); // 6, on the embedded database
  await embedded.stop();
  // 7: extracts against a COPY of the same rows, on a scratch PostgreSQL database of their own.
  if (target.postgres) await measureExtract(report);
  else report.notes.push('Extracts (section 7) are measured on PostgreSQL only: none was reachable.');
  // 8: the bulk consent import over HTTP against a plain INSERT of the same rows, on a scratch PostgreSQL database of its own.
  await measureImport(report);

  const total = elapsedSeconds();
  report.write(target, total);
  log(`done in ${total.toFixed(0)} s`);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
