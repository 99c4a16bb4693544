// Section 6: the server's RSS, at its peak during the load runs and over a
// longer run (sampled each second: it must stay flat, no growth per request).
import { graphqlUrl, rss, type Child } from './children.ts';
import { fmt, mean } from './lib.ts';
import { load } from './load.ts';
import { verdict, type Report } from './report.ts';
import { loadServer, verify } from './servers.ts';
import { BODY, HEADERS, T } from './settings.ts';
import type { Variant } from './variants.ts';

const SECTION = '6. Memory';

/** On the benchmark database: the peaks of sections 1 and 4, then T.soak seconds more on the enforced server. */
export async function measureSoak(servers: Record<Variant, Child>, postgres: boolean, report: Report) {
  const pid = servers.enforced.serverPid();
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rss(pid).rss), 1000);
  const soak = await loadServer(servers.enforced, 10, T.soak);
  clearInterval(sampler);
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = mean(samples.slice(0, third));
  const last = mean(samples.slice(-third));
  const growth = last / first - 1;
  const peak = (v: Variant) => rss(servers[v].serverPid()).peak;
  report.add(
    SECTION,
    `peak RSS on ${postgres ? 'PostgreSQL' : 'PGlite'}: enforced / baseline`,
    `${fmt.n(peak('enforced'))} / ${fmt.n(peak('baseline'))} MiB`,
  );
  report.add(
    SECTION,
    `${T.soak} s at 10 conn (${fmt.n(soak.requests)} requests): RSS first → last third`,
    `${fmt.n(first)} → ${fmt.n(last)} MiB (${fmt.pct(growth)}, ${fmt.n(((last - first) * 2 ** 20) / soak.requests, 1)} B/request)`,
    'flat',
    verdict(growth <= 0.05),
  );
  report.targets.push(
    `**Memory: ${verdict(growth <= 0.05)}.** RSS ${fmt.n(first)} → ${fmt.n(last)} MiB (first vs last third) over ${T.soak} s and ${fmt.n(soak.requests)} requests` +
      (growth <= 0.05
        ? ' (no growth per request beyond noise).'
        : ': it grows; take a heap snapshot of the server under load to find what holds the memory.'),
  );
}

/** `npm start` on the embedded database (cold-start.ts's server), under the same query. */
export async function measureEmbeddedPeak(server: Child, report: Report) {
  await verify(server, 'embedded');
  const r = await load({ url: graphqlUrl(server), headers: HEADERS, body: BODY, connections: 10, seconds: T.embedded });
  if (r.non2xx || r.errors || r.requests === 0)
    throw new Error(`embedded: ${r.requests} good responses, ${r.non2xx} non-2xx and ${r.errors} errors:\n${server.output().slice(-2000)}`);
  report.add(
    SECTION,
    `peak RSS on PGlite (npm start, 5,000 customers, ${T.embedded} s at 10 conn: ${fmt.n(r.rps)} req/s, p50 ${fmt.ms(r.p50)})`,
    `${fmt.n(rss(server.serverPid()).peak)} MiB`,
  );
}
