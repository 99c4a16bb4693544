// Sections 1 and 4: what consent enforcement, and separately the requester
// layer (graphql-shield), cost on the list query. Four servers under HTTP load
// (autocannon), then the same comparisons in one process (cpu.ts).
import type { Target } from './database.ts';
import type { Child } from './children.ts';
import { interleavedCpu } from './cpu.ts';
import { measureFloor } from './floor-compare.ts';
import { fmt, median, pairedMedian } from './lib.ts';
import type { LoadResult } from './load.ts';
import { verdict, type Report } from './report.ts';
import { loadServer, permittedCount, startVariant, verify, warmUp } from './servers.ts';
import { BODY, FIELDS_PER_PAGE, HEADERS, log, PAGE_SIZE, T } from './settings.ts';
import { VARIANTS, type Variant } from './variants.ts';

const MASKING = '1. Masking overhead (enforced / baseline)';
const SHIELD = '4. Requester layer (with / without graphql-shield)';
// Each pair back to back, its order flipped every round: ratios are taken per
// round and their median reported, so drifting load on the machine affects
// both sides of a ratio alike.
const PAIRS = [
  ['enforced', 'baseline'],
  ['shield', 'no-shield'],
] as const;
const CONNECTIONS = [1, 10];

/** Measures sections 1 and 4 into the report; returns the four servers, still running (section 6 loads them again). */
export async function measureMasking(target: Target, report: Report): Promise<Record<Variant, Child>> {
  const servers = Object.fromEntries(await Promise.all(VARIANTS.map(async (v) => [v, await startVariant(target, v)] as const))) as Record<
    Variant,
    Child
  >;
  const checks = Object.fromEntries(await Promise.all(VARIANTS.map(async (v) => [v, await verify(servers[v], v)] as const)));
  if (checks.baseline.masked !== 0 || !checks.baseline.sampleEmail?.includes('@'))
    throw new Error('the baseline masks: it is not a baseline');
  // Like with like: every server must serve the same rows (the row filter of the purpose is in SQL on all of them).
  for (const v of VARIANTS) {
    if (checks[v].ids.join() !== checks.enforced.ids.join())
      throw new Error(`${v} serves other rows than enforced: the comparison would not be like with like`);
  }
  const basis = await permittedCount(servers.enforced);
  const total = basis.excluded === null ? NaN : basis.permitted + basis.excluded;
  log(
    `servers up; enforced masks ${checks.enforced.masked} of ${FIELDS_PER_PAGE} values per page, the baseline none; ` +
      `analytics may process ${fmt.n(basis.permitted)} of ${fmt.n(total)} customers`,
  );
  // Warm up: first one request at a time (a fresh process compiles its hot paths on the first few, which on a
  // busy machine can take longer than a quick run's warm-up second), then under load.
  for (const v of VARIANTS) await warmUp(servers[v], 30);
  for (const v of VARIANTS) await loadServer(servers[v], 10, T.warm);

  const results: Record<number, Record<Variant, LoadResult[]>> = {};
  for (const connections of CONNECTIONS) {
    results[connections] = { enforced: [], baseline: [], shield: [], 'no-shield': [] };
    for (let round = 0; round < T.rounds; round++) {
      for (const pair of PAIRS) {
        for (const v of round % 2 ? [...pair].reverse() : pair)
          results[connections][v].push(await loadServer(servers[v], connections, T.seconds));
      }
      log(
        `${connections} conn, round ${round + 1}/${T.rounds}: ` +
          VARIANTS.map((v) => `${v} ${results[connections][v].at(-1)!.rps.toFixed(0)}/s`).join(', '),
      );
    }
  }
  const compare = (c: number, a: Variant, b: Variant) => {
    const [ra, rb] = [results[c][a], results[c][b]];
    const of = (rs: LoadResult[]) => ({
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      cpu: median(rs.map((r) => r.cpuPerRequest)),
    });
    return {
      a: of(ra),
      b: of(rb),
      rps: pairedMedian(ra, rb, (x, y) => x.rps / y.rps - 1),
      p50: pairedMedian(ra, rb, (x, y) => x.p50 - y.p50),
      p99: pairedMedian(ra, rb, (x, y) => x.p99 / y.p99 - 1),
      cpu: pairedMedian(ra, rb, (x, y) => x.cpuPerRequest / y.cpuPerRequest - 1),
    };
  };

  const masking: Record<number, ReturnType<typeof compare>> = {};
  for (const c of CONNECTIONS) {
    const m = compare(c, 'enforced', 'baseline');
    masking[c] = m;
    report.add(
      MASKING,
      `${c} conn: throughput`,
      `${fmt.n(m.a.rps)} / ${fmt.n(m.b.rps)} req/s (${fmt.pct(m.rps)})`,
      '≤ 10 % lost',
      verdict(m.rps >= -0.1),
    );
    report.add(
      MASKING,
      `${c} conn: p50 latency`,
      `${fmt.ms(m.a.p50)} / ${fmt.ms(m.b.p50)} (${fmt.delta(m.p50)})`,
      '≤ +0.2 ms',
      verdict(m.p50 <= 0.2),
    );
    report.add(MASKING, `${c} conn: p99 latency`, `${fmt.ms(m.a.p99)} / ${fmt.ms(m.b.p99)} (${fmt.pct(m.p99)})`);
    report.add(MASKING, `${c} conn: server CPU per request`, `${m.a.cpu.toFixed(2)} / ${m.b.cpu.toFixed(2)} ms (${fmt.pct(m.cpu)})`);
  }
  // The same comparison in one process, in alternating blocks of a few requests.
  const fine = await interleavedCpu(target.dbOptions, BODY, HEADERS, T.blocks, T.perBlock);
  const fineOk = fine.masking.cpu <= 0.1 && fine.masking.wall <= 0.2;
  const inProcess = `in-process, alternating blocks of ${T.perBlock} requests: Node CPU per request; wall time per request`;
  const inProcessValue = (f: typeof fine.masking) =>
    `${f.cpuA.toFixed(2)} / ${f.cpuB.toFixed(2)} ms (${fmt.pct(f.cpu)}); ${fmt.ms(f.wallA)} / ${fmt.ms(f.wallB)} (${fmt.delta(f.wall)})`;
  report.add(MASKING, inProcess, inProcessValue(fine.masking), '≤ 10 %; ≤ +0.2 ms', verdict(fineOk));
  log(
    `in-process blocks: masking CPU ${fmt.pct(fine.masking.cpu)}, wall ${fmt.delta(fine.masking.wall)}; shield CPU ${fmt.pct(fine.shield.cpu)}, wall ${fmt.delta(fine.shield.wall)}`,
  );

  const cpu = Math.max(masking[1].cpu, masking[10].cpu);
  const ok = Math.min(masking[1].rps, masking[10].rps) >= -0.1 && Math.max(masking[1].p50, masking[10].p50) <= 0.2;
  report.targets.push(
    `**Masking overhead: ${verdict(ok)}.** Throughput ${fmt.pct(masking[1].rps)} (1 conn) and ${fmt.pct(masking[10].rps)} (10 conn), p50 ${fmt.delta(masking[1].p50)} / ${fmt.delta(masking[10].p50)}; ` +
      `the enforced server spends ${fmt.pct(cpu)} CPU per request (worst of the two loads) against the baseline. ` +
      `Measured in one process in alternating blocks of ${T.perBlock} requests, which cancels the drift of load on this shared machine: ${fmt.pct(fine.masking.cpu)} CPU and ${fmt.delta(fine.masking.wall)} wall time per request ` +
      `(${fineOk ? 'within' : 'outside'} the targets). ` +
      (ok
        ? 'Decisions are computed once per subject and tag class and HMAC tokens are cached, so the per-field path is a map lookup.'
        : maskingWhy(masking[10].rps >= -0.1 && masking[10].p50 <= 0.2)),
  );
  const onlyUnserved = checks.enforced.masked === 3 * PAGE_SIZE;
  report.notes.push(
    `Masking query: the analytics app under \`analytics\`, \`customers(first: ${PAGE_SIZE})\` × 10 tagged fields; the enforced server masked ${checks.enforced.masked} of ${FIELDS_PER_PAGE} values per page ` +
      `(${((checks.enforced.masked / FIELDS_PER_PAGE) * 100).toFixed(0)} %: email hmac, phone partial and firstName null, the fields that do not serve analytics${onlyUnserved ? '' : ', and special-category fields without the consent they need'}), the baseline none. ` +
      `Since total enforcement (2026-11-30) a subject without a legal basis for the declared purpose is not selected at all, for every purpose: ` +
      `analytics may process ${fmt.n(basis.permitted)} of the ${fmt.n(total)} customers (${fmt.n((1 - basis.permitted / total) * 100)} % excluded: no consent in the EU, an opt-out in the US, and so on), and the page is the first ${PAGE_SIZE} of them by id, full on every server. ` +
      `The filter is SQL on the baseline too (\`benchmarkBaseline\` switches off field decisions only, not the row filter: both read the page, row filter included, with one statement of src/schema/customer-rows.ts), and all four servers were checked to serve the same ${PAGE_SIZE} rows, so the ratios compare like with like: ` +
      `they measure the field decisions, while the row filter's cost is in both sides. Before, analytics excluded no rows and the enforced server also masked every analytics field of the subjects without analytics consent (559 of 1,000 values per page in the run of 2026-11-29), so this run's enforced server masks fewer values per page than that one did. ` +
      `${T.rounds} rounds of ${T.seconds} s per server and connection count (autocannon), interleaved in pairs; the figures are medians over the rounds, and the ratios in brackets medians of the per-round ratios. ` +
      `Latencies from autocannon's per-response timings (µs precision; its own histogram rounds to whole ms). Server CPU per request from /proc/<pid>/stat (utime + stime) over each run.`,
  );

  // 1b: the same servers against the floor, on three pages.
  await measureFloor(target, servers, report);

  for (const c of CONNECTIONS) {
    const s = compare(c, 'shield', 'no-shield');
    report.add(
      SHIELD,
      `${c} conn: throughput; p50; CPU per request`,
      `${fmt.n(s.a.rps)} / ${fmt.n(s.b.rps)} req/s (${fmt.pct(s.rps)}); ${fmt.ms(s.a.p50)} / ${fmt.ms(s.b.p50)} (${fmt.delta(s.p50)}); ${s.a.cpu.toFixed(2)} / ${s.b.cpu.toFixed(2)} ms (${fmt.pct(s.cpu)})`,
    );
  }
  report.add(SHIELD, inProcess, inProcessValue(fine.shield));
  report.notes.push(
    'Requester layer: createServer() with and without graphql-shield on the root fields (benchmarkWithoutShield), both enforcing consent.',
  );
  return servers;
}

/** What limits the masking overhead: `tenConnMet` whether the 10-connection figures met the target. */
function maskingWhy(tenConnMet: boolean): string {
  return (
    (tenConnMet
      ? ''
      : 'At 10 connections the server is CPU-bound, so the loss in throughput follows the CPU per request; p50 at 10 connections is queueing (connections ÷ throughput), not the cost of one request. ') +
    // Not measured by this run: a one-off profile, quoted as such.
    'A separate profile (node --cpu-prof of 2,000 such requests served in-process by the enforced build, taken on 2026-12-02 after ' +
    "the third round of changes for issue 12, not part of this run; 3.3 ms of Node CPU per request on that day's machine) put the consent " +
    'layer (decided rows, decisions, masks) at 6.5 % of the busy time and garbage collection at 12.3 %. The rest went to the pg driver and ' +
    'socket writes (22.5 %, most of it the process waiting in the write while PostgreSQL runs on the other core), Node internals (13.5 %), ' +
    "resolvers, scalars and the loader (10.8 %), Yoga (6.5 %), loading the profiled process's modules (5.9 %) and JSON serialisation (3.2 %); " +
    "Prisma, not on the page's path, about 1 %."
  );
}
