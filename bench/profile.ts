// node --cpu-prof --cpu-prof-dir=<dir> bench/profile.ts [requests] [variant]: serves the
// benchmark's 100-row page in-process (createServer().fetch, as bench/cpu.ts does) so a CPU
// profile holds only the server's work; summarise it with bench/profile-summary.ts.
// Environment: BENCH_DATABASE_URL (default the full benchmark database), PROFILE_BODY=nested|1000.
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { PRODUCTION } from './servers.ts';
import { BODY, FLOOR_PAGES, HEADERS } from './settings.ts';
import { buildVariant, type Variant } from './variants.ts';

const n = Number(process.argv[2] ?? 500);
const variant = (process.argv[3] ?? 'enforced') as Variant;
const body = FLOOR_PAGES.find((p) => p.key === process.env.PROFILE_BODY)?.body ?? BODY;
const url = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/consentql_bench';
const db = await openDatabase({ databaseUrl: url });
const yoga = buildVariant(variant, loadConfig({ ...PRODUCTION, DATABASE_URL: url }), db, pino({ level: 'silent' }));
const once = async () => {
  const res = await yoga.fetch('http://bench/graphql', { method: 'POST', headers: { ...HEADERS }, body });
  const text = await res.text();
  if (!res.ok || text.includes('"errors"')) throw new Error(text.slice(0, 300));
};
for (let i = 0; i < 50; i++) await once();
const c0 = process.cpuUsage();
const t0 = performance.now();
// 4 in flight, as a loaded server has.
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (let i = 0; i < n / 4; i++) await once();
  }),
);
const cpu = process.cpuUsage(c0);
console.log(
  `${variant}: ${n} requests, ${((performance.now() - t0) / n).toFixed(2)} ms wall and ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms Node CPU per request`,
);
await db.close();
