// Section 3: how fast a consent change reaches a webhook and a live
// subscription (lag.ts measures it), and, where the target is missed, why.
import { propagationOptionsFromEnv } from '../src/propagation/config.ts';
import type { Target } from './database.ts';
import { measureLag, type PropagationRow } from './lag.ts';
import { fmt } from './lib.ts';
import { verdict, type Report } from './report.ts';
import type { LedgerWrite } from './round-trips.ts';
import { startApi } from './servers.ts';
import { log, T } from './settings.ts';

const SECTION = '3. Propagation';
const RATES = [20, 100];

/** `ledger`: section 2's figures for one consent write, which bound how fast changes can be recorded at all. */
export async function measurePropagation(target: Target, ledger: LedgerWrite | string, report: Report) {
  const prop = await measureLag({ seconds: T.propSeconds, rates: RATES, log, startServer: (env) => startApi(target, env) });
  const ledgerNote =
    typeof ledger === 'string'
      ? ''
      : ` Every consent write takes one global advisory lock (src/consent/ledger.ts, LEDGER_LOCK) in the statement that appends it and holds it until COMMIT returns: ${fmt.ms(ledger.lockMs)} one write at a time (section 2), which caps consent writes deployment-wide at roughly ${fmt.n(1000 / ledger.lockMs)} per second here${1000 / ledger.lockMs > 100 ? ': above the 100 per second measured, so not what limits it' : ''}.`;
  if (!('rows' in prop)) {
    report.targets.push(`**Propagation: not measured** (${prop.notMeasured}).${ledgerNote}`);
    report.add(SECTION, 'consent change → webhook / SSE event', `not measured: ${prop.notMeasured}`, 'p99 ≤ 50 ms at 100/s', 'n/a');
    return;
  }
  const at100 = prop.rows.filter((r) => r.rate === 100);
  const ok = at100.length > 0 && at100.every((r) => r.p99 <= 50 && r.received === r.sent);
  const why = at100
    .filter((r) => r.p99 > 50)
    .map((r) => (r.channel === 'webhook' ? webhookWhy(r) : sseWhy(prop.mutation)))
    .join(' ');
  const cpu = prop.serverCpu.find((c) => c.rate === 100);
  const loop =
    why && cpu
      ? ` The server process spent ${fmt.ms(cpu.perChange)} of CPU per change at 100/s, ${fmt.n(cpu.perChange * 10)} % of one core: one event loop records each change (HTTP, GraphQL, the ledger transaction) and propagates it (NOTIFY → SSE; the dispatcher's fan-out, claim, signed POST and settle), on a 2-core machine it shares with PostgreSQL and the bench's own client, so what waits is queued on that loop.`
      : '';
  report.targets.push(`**Propagation: ${verdict(ok)}** at 100 changes/s: ` + at100.map((r) => `${r.channel} p99 ${fmt.ms(r.p99)}`).join(', ') + '. ' + why + loop + ledgerNote);
  for (const r of prop.rows) {
    const at = r.rate === 100;
    report.add(SECTION, `${r.rate}/s: change → ${r.channel} (${r.received}/${r.sent})`, `p50 ${fmt.ms(r.p50)}, p99 ${fmt.ms(r.p99)}`, at ? 'p99 ≤ 50 ms' : '', at ? verdict(r.p99 <= 50) : '');
  }
  for (const m of prop.notMeasured) report.add(SECTION, `consent change → ${m.channel}`, `not measured: ${m.reason}`, 'p99 ≤ 50 ms at 100/s', 'n/a');
  report.notes.push(...prop.notes);
}

/** Whether webhook deliveries fell behind the changes (a backlog) or kept up (a few slow ones). */
function webhookWhy(r: PropagationRow): string {
  const after = r.lastMs - T.propSeconds * 1000;
  if (after > 1000) {
    const { concurrency } = propagationOptionsFromEnv();
    return (
      `Webhook: deliveries fell behind the changes: the last arrived ${fmt.n(after / 1000, 1)} s after the last change was sent, about ${fmt.n(r.received / (r.lastMs / 1000))} per second for 100 sent. ` +
      `src/propagation/dispatcher.ts run() handles one batch at a time (fan out, claim up to CONSENTQL_WEBHOOK_CONCURRENCY = ${concurrency}, POST them all, settle) on the server's one event loop.`
    );
  }
  return `Webhook: deliveries kept up with the changes (the last arrived ${fmt.n(after)} ms after the last change was sent); its p99 is changes that waited behind others, not a backlog.`;
}

function sseWhy(mutation: { p50: number; p99: number }): string {
  return `SSE: its lag is measured from sending the mutation, and the mutation alone took p50 ${fmt.ms(mutation.p50)}, p99 ${fmt.ms(mutation.p99)} at these rates: the time is in recording the change, not in NOTIFY → SSE.`;
}
