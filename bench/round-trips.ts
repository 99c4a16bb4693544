// Database round trips per request, counted in-process at the `pg` wire level:
// every statement any pg.Client sends (Prisma's through @prisma/adapter-pg,
// the audit insert, a transaction's BEGIN/COMMIT) goes through Client#query.
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type OpenOptions } from '../src/db/database.ts';
import { createServer } from '../src/server.ts';
import type { Target } from './database.ts';
import { fmt, median, sleep } from './lib.ts';
import { verdict, type Report } from './report.ts';
import { GRANT, grantInput, HEADERS, QUERY, RECORDER } from './settings.ts';

export interface RoundTrips {
  pageSize: number;
  /** Statements on the request's read path (all but the audit write). */
  reads: number;
  /** The access-record insert, sent after the result, not awaited by the response. */
  audit: number;
  statements: string[];
}

export interface LedgerWrite {
  /** Statements of one grantConsent, and how many of them run inside its transaction. */
  statements: number;
  inTransaction: number;
  /** Median ms from sending BEGIN to sending COMMIT. */
  transactionMs: number;
  /** Median ms from sending the statement that takes the ledger's advisory lock to COMMIT's answer: while it is held, no other consent write can proceed. */
  lockMs: number;
  /** Median ms of the whole mutation, in-process, one at a time. */
  mutationMs: number;
}

const SECTION = '2. DB round trips / request';

/** Section 2 into the report; returns the consent write's figures (or why there are none) for section 3's note. */
export async function measureRoundTrips(target: Target, report: Report): Promise<LedgerWrite | string> {
  const { reads: trips, ledger } = await countRoundTrips(target.dbOptions, QUERY, HEADERS, [10, 100, 1000]);
  const maxReads = Math.max(...trips.map((t) => t.reads));
  const ok = trips.every((t) => t.reads === trips[0].reads) && maxReads <= 2;
  report.add(SECTION, 'page size 10 / 100 / 1,000', trips.map((t) => `${t.reads}`).join(' / ') + ` (+ ${trips[0].audit} async audit insert)`, 'constant, ≤ 2', verdict(ok));
  report.targets.push(
    `**Round trips: ${verdict(ok)}.** ${trips.map((t) => t.reads).join(' / ')} statements for 10 / 100 / 1,000 customers: the page and the consent states of its subjects are one SQL statement (relationJoins, LEFT JOIN LATERAL); the access record is one more insert after the response, not awaited.`,
  );
  if (typeof ledger === 'string') report.add(SECTION, 'grantConsent (one at a time)', `not measured: ${ledger}`);
  else
    report.add(
      SECTION,
      'grantConsent (one at a time): statements; BEGIN → COMMIT; ledger lock held; whole mutation',
      `${ledger.statements} (${ledger.inTransaction} in one transaction); ${fmt.ms(ledger.transactionMs)}; ${fmt.ms(ledger.lockMs)}; ${fmt.ms(ledger.mutationMs)}`,
    );
  report.notes.push(`Round-trip statements at page size 1,000: ${trips[2].statements.map((s) => '`' + s.replace(/\s+/g, ' ').slice(0, 90) + '…`').join('; ')}`);
  return ledger;
}

export async function countRoundTrips(
  dbOptions: OpenOptions,
  query: string,
  headers: Record<string, string>,
  pageSizes: number[],
): Promise<{ reads: RoundTrips[]; ledger: LedgerWrite | string }> {
  const seen: { sql: string; at: number; done?: number }[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const entry: (typeof seen)[number] = { sql: typeof q === 'string' ? q : String((q as { text?: string })?.text ?? q), at: performance.now() };
    seen.push(entry);
    const result = original.apply(this, args);
    if (result instanceof Promise) result.then(() => (entry.done = performance.now()), () => {});
    return result;
  };
  const db = await openDatabase(dbOptions);
  try {
    const yoga = createServer({ config: loadConfig({ NODE_ENV: 'test' }), db, logger: pino({ level: 'silent' }) });
    const post = async (body: object, auth: Record<string, string>) => {
      const res = await yoga.fetch('http://bench/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
      return (await res.json()) as { errors?: { message: string }[]; data?: any };
    };
    const page = async (first: number) => {
      const body = await post({ query, variables: { first } }, headers);
      if (body.errors || body.data?.customers.edges.length !== first) {
        throw new Error(`round trips: unexpected response for first=${first}: ${JSON.stringify(body).slice(0, 500)}`);
      }
    };
    await page(10); // authenticates the client (cached from then on) and warms up
    await sleep(100);
    const reads: RoundTrips[] = [];
    for (const first of pageSizes) {
      seen.length = 0;
      await page(first);
      await sleep(100); // the audit insert is sent after the response
      const statements = seen.map((s) => s.sql);
      const audit = statements.filter((s) => /insert\s+into\s+"?access_record/i.test(s)).length;
      reads.push({ pageSize: first, reads: statements.length - audit, audit, statements });
    }

    // One consent write at a time (issue 4): statements, and time inside the ledger's transaction.
    const ids = (await db.pool.query<{ id: string }>('SELECT id FROM customer ORDER BY id DESC LIMIT 30')).rows.map((r) => r.id);
    const tx: number[] = [];
    const lock: number[] = [];
    const total: number[] = [];
    let counts = { statements: 0, inTransaction: 0 };
    for (const id of ids) {
      seen.length = 0;
      const t0 = performance.now();
      const body = await post({ query: GRANT, variables: grantInput(id, 'marketing') }, { authorization: RECORDER });
      if (body.errors) return { reads, ledger: `grantConsent failed: ${body.errors[0].message}` };
      total.push(performance.now() - t0);
      const begin = seen.findIndex((s) => /^\s*BEGIN/i.test(s.sql));
      const commit = seen.findIndex((s) => /^\s*COMMIT/i.test(s.sql));
      const locking = seen.findIndex((s) => /pg_advisory_xact_lock/i.test(s.sql));
      if (begin >= 0 && commit > begin) tx.push(seen[commit].at - seen[begin].at);
      if (locking >= 0 && commit > locking && seen[commit].done) lock.push(seen[commit].done! - seen[locking].at);
      counts = { statements: seen.length, inTransaction: commit > begin ? commit - begin + 1 : 0 };
    }
    return { reads, ledger: { ...counts, transactionMs: median(tx), lockMs: median(lock), mutationMs: median(total) } };
  } finally {
    proto.query = original;
    await db.close();
  }
}
