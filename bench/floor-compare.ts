// Section 1b: the enforced and baseline servers against the floor (bench/floor.ts), the same
// page served by one SQL statement with pg and JSON.stringify over node:http. Three pages:
// 100 rows, 1,000 rows, and 100 rows with two nested lists; the same rows and the same 11
// columns on every server (checked before measuring).
import type { Child } from './children.ts';
import { graphqlUrl } from './children.ts';
import type { Target } from './database.ts';
import { fmt, median, pairedMedian } from './lib.ts';
import type { LoadResult } from './load.ts';
import type { Report } from './report.ts';
import { loadServer, startFloor } from './servers.ts';
import { FLOOR_PAGES, HEADERS, log, T } from './settings.ts';

const SECTION = '1b. Floor: enforced / baseline / floor (one SQL statement, pg + JSON.stringify, node:http)';
const SIDES = ['enforced', 'baseline', 'floor'] as const;
type Side = (typeof SIDES)[number];
const CONNECTIONS = [1, 10];

interface Node {
  id: string;
  orders?: { id: string }[];
  tickets?: { id: string }[];
}

/** The page's customer ids (and, nested, their order and ticket ids) as a server returns them. */
async function fingerprint(c: Child, body: string, size: number, who: string): Promise<string> {
  const res = await fetch(graphqlUrl(c), { method: 'POST', headers: HEADERS, body });
  const text = await res.text();
  let json: { errors?: unknown[]; data?: { customers?: { edges?: { node: Node }[] } } };
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${who}: not JSON (HTTP ${res.status}): ${text.slice(0, 400)}`);
  }
  const edges = json.data?.customers?.edges;
  if (json.errors || edges?.length !== size) throw new Error(`${who}: expected a full page of ${size}: ${text.slice(0, 600)}`);
  return edges
    .map(({ node }) => [node.id, ...(node.orders ?? []).map((o) => o.id), '|', ...(node.tickets ?? []).map((t) => t.id)].join(','))
    .join(';');
}

/**
 * Measures section 1b into the report, with the enforced and baseline servers of section 1
 * (already warm) and a floor server of its own, stopped at the end. On the embedded
 * fallback (no PostgreSQL) there is no floor: PGlite serves one process.
 */
export async function measureFloor(target: Target, servers: Record<'enforced' | 'baseline', Child>, report: Report): Promise<void> {
  if (!target.postgres) {
    report.add(SECTION, 'not measured', 'the floor needs PostgreSQL (the run fell back to the embedded database)');
    return;
  }
  const floor = await startFloor(target);
  try {
    const all: Record<Side, Child> = { ...servers, floor };
    for (const page of FLOOR_PAGES) {
      const [e, b, f] = await Promise.all(SIDES.map((s) => fingerprint(all[s], page.body, page.size, `${s}, ${page.label}`)));
      if (e !== b || e !== f)
        throw new Error(
          `${page.label}: the enforced, baseline and floor servers do not serve the same rows: the comparison would not be like with like`,
        );
    }
    log(`floor up: the same rows as the enforced server on all ${FLOOR_PAGES.length} pages`);
    // Warm-up: a few requests of each page, one at a time (a 1,000-row page can take longer than a quick run's warm-up second).
    for (const page of FLOOR_PAGES) for (const s of SIDES) for (let i = 0; i < 5; i++) await fingerprint(all[s], page.body, page.size, s);

    const results: Record<string, Record<Side, LoadResult[]>> = {};
    for (const connections of CONNECTIONS) {
      for (const page of FLOOR_PAGES) results[`${page.key}/${connections}`] = { enforced: [], baseline: [], floor: [] };
      for (let round = 0; round < T.floorRounds; round++) {
        for (const page of FLOOR_PAGES) {
          const r = results[`${page.key}/${connections}`];
          // The order rotates every round, so that drifting load on the machine does not favour one side.
          for (let i = 0; i < SIDES.length; i++) {
            const s = SIDES[(i + round) % SIDES.length];
            r[s].push(await loadServer(all[s], connections, T.seconds, page.body));
          }
          log(
            `floor, ${page.label}, ${connections} conn, round ${round + 1}/${T.floorRounds}: ` +
              SIDES.map((s) => `${s} ${r[s].at(-1)!.rps.toFixed(0)}/s`).join(', '),
          );
        }
      }
    }

    for (const page of FLOOR_PAGES) {
      for (const connections of CONNECTIONS) {
        const r = results[`${page.key}/${connections}`];
        const rps = (s: Side) => median(r[s].map((x) => x.rps));
        const p99 = (s: Side) => median(r[s].map((x) => x.p99));
        const cpu = (s: Side) => median(r[s].map((x) => x.cpuPerRequest));
        const ofFloor = (s: Side) => pairedMedian(r[s], r.floor, (x, y) => x.rps / y.rps);
        report.add(
          SECTION,
          `${page.label}, ${connections} conn: throughput (× floor)`,
          `${SIDES.map((s) => fmt.n(rps(s))).join(' / ')} req/s (enforced ${fmt.n(ofFloor('enforced'), 2)}×, baseline ${fmt.n(ofFloor('baseline'), 2)}× the floor)`,
        );
        report.add(
          SECTION,
          `${page.label}, ${connections} conn: p99 latency; server CPU per request`,
          `${SIDES.map((s) => fmt.ms(p99(s))).join(' / ')}; ${SIDES.map((s) => cpu(s).toFixed(2)).join(' / ')} ms`,
        );
      }
    }
    report.notes.push(
      `Floor (section 1b): bench/floor.ts, a node:http server that answers each request with one SQL statement through \`pg\` (a pool of 10, as the API's) and JSON.stringify, in the GraphQL response's shape: ` +
        `the same rows (the first customers by id among those analytics may process, its row filter written by hand as one semi- or anti-join per regime, UNION ALL) and the same 11 columns in clear (it masks nothing), ` +
        `checked against the enforced and baseline servers before measuring (customer ids, and the nested page's order and ticket ids). ` +
        `The nested page is \`customers(first: 100)\` with \`orders(first: 5) { id status total placedAt }\` and \`tickets(first: 2) { id status channel openedAt }\`, the floor's nested lists as correlated json_agg subqueries. ` +
        `${T.floorRounds} round${T.floorRounds > 1 ? 's' : ''} of ${T.seconds} s per server, page and connection count, the three servers' order rotated per round; figures are medians over the rounds, × floor the median of per-round ratios.`,
    );
  } finally {
    await floor.stop();
  }
}
