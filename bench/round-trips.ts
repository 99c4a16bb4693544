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
import { GRANT, grantInput, HEADERS, QUERY, RECORDER_HEADERS } from './settings.ts';

export interface RoundTrips {
  pageSize: number;
  /** Statements on the request's read path (all but the audit write). */
  reads: number;
  /** The access-record insert, sent after the result, not awaited by the response. */
  audit: number;
  /** Look-ups of the client's key: the server caches a client for a while, then reads it again (not per request). */
  auth: number;
  statements: string[];
  /** PostgreSQL's own time for the page's statements (EXPLAIN ANALYZE: planning + execution, medians, summed), ms. */
  dbMs: number;
  /** The same, per statement. */
  dbMsEach: number[];
}

export interface LedgerWrite {
  /** Statements of one grantConsent, how many of them run inside its transaction, after it (awaited) and as the async audit insert. */
  statements: number;
  inTransaction: number;
  afterCommit: number;
  audit: number;
  /** Look-ups of the client's key over all the writes measured (cached for a while; not part of `statements`). */
  clientLookups: number;
  /** The statements after COMMIT, shortened. */
  afterCommitSql: string[];
  /** Median ms from sending BEGIN to sending COMMIT. */
  transactionMs: number;
  /** Median ms from sending the statement that takes the ledger's advisory lock to COMMIT's answer: while it is held, no other consent write can proceed. */
  lockMs: number;
  /** Median ms of the whole mutation, in-process, one at a time. */
  mutationMs: number;
}

const SECTION = '2. DB round trips / request';
/** Consent writes measured one at a time. */
const LEDGER_WRITES = 30;

/** Section 2 into the report; returns the consent write's figures (or why there are none) for section 3's note. */
export async function measureRoundTrips(target: Target, report: Report): Promise<LedgerWrite | string> {
  const { reads: trips, ledger } = await countRoundTrips(target.dbOptions, QUERY, HEADERS, [10, 100, 1000]);
  const maxReads = Math.max(...trips.map((t) => t.reads));
  const ok = trips.every((t) => t.reads === trips[0].reads) && maxReads <= 2;
  const auth = trips.reduce((n, t) => n + t.auth, 0);
  report.add(
    SECTION,
    'page size 10 / 100 / 1,000',
    trips.map((t) => `${t.reads}`).join(' / ') +
      ` (+ ${trips[0].audit} async audit insert${auth ? `; + ${auth} look-up of the client's key over the three requests, which the server caches for a while and then reads again` : ''})`,
    'constant, ≤ 2',
    verdict(ok),
  );
  report.add(
    SECTION,
    "the page's statements in PostgreSQL (EXPLAIN ANALYZE, planning + execution), page size 10 / 100 / 1,000",
    trips
      .map((t) => `${fmt.ms(t.dbMs)}${t.dbMsEach.length > 1 ? ` (${t.dbMsEach.map((m) => m.toFixed(1)).join(' + ')})` : ''}`)
      .join(' / '),
  );
  report.targets.push(
    `**Round trips: ${verdict(ok)}.** ${trips.map((t) => t.reads).join(' / ')} statements for 10 / 100 / 1,000 customers: the page in one statement (src/schema/customer-rows.ts): for a purpose that needs consent the purpose's row filter as one semi- or anti-join per regime, UNION ALL, which stops at the page (src/schema/pagination/page-ids.ts), and for the page's rows their consent states and the nested lists selected, as JSON; each row is checked again against the policy; the access record is one more insert after the response, not awaited.`,
  );
  if (typeof ledger === 'string') report.add(SECTION, 'grantConsent (one at a time)', `not measured: ${ledger}`);
  else {
    report.add(
      SECTION,
      'grantConsent (one at a time): statements; BEGIN → COMMIT; ledger lock held; whole mutation',
      `${ledger.statements} (${ledger.inTransaction} in one transaction, ${ledger.afterCommit} after it, ${ledger.audit} async audit insert${ledger.clientLookups ? `; + ${ledger.clientLookups} look-up of the client's key over ${LEDGER_WRITES} writes` : ''}); ${fmt.ms(ledger.transactionMs)}; ${fmt.ms(ledger.lockMs)}; ${fmt.ms(ledger.mutationMs)}`,
    );
    if (ledger.afterCommit > 0) {
      report.notes.push(
        `grantConsent, as the consent center under \`consent_management\` (which recording consent now declares: it returns consent events): after COMMIT, before answering, it loads the subject again to decide and audit the events it returns: ` +
          ledger.afterCommitSql.map((s) => `\`${s}…\``).join('; ') +
          `. Before total enforcement the mutation sent 4 statements (3 in one transaction) and no audit insert.`,
      );
    }
  }
  report.notes.push(
    `Round-trip statements at page size 1,000: ${trips[2].statements
      .filter((s) => !isClientLookup(s))
      .map((s) => `\`${s.replace(/\s+/g, ' ').slice(0, 90)}…\``)
      .join('; ')}`,
  );
  return ledger;
}

export async function countRoundTrips(
  dbOptions: OpenOptions,
  query: string,
  headers: Record<string, string>,
  pageSizes: number[],
): Promise<{ reads: RoundTrips[]; ledger: LedgerWrite | string }> {
  const seen: { sql: string; values?: unknown[]; at: number; done?: number }[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const values = typeof q === 'string' ? args[1] : (q as { values?: unknown })?.values;
    const entry: (typeof seen)[number] = {
      sql: typeof q === 'string' ? q : String((q as { text?: string })?.text ?? q),
      values: Array.isArray(values) ? values : undefined,
      at: performance.now(),
    };
    seen.push(entry);
    const result = original.apply(this, args);
    if (result instanceof Promise)
      result.then(
        () => (entry.done = performance.now()),
        () => {},
      );
    return result;
  };
  const db = await openDatabase(dbOptions);
  try {
    const yoga = createServer({ config: loadConfig({ NODE_ENV: 'test' }), db, logger: pino({ level: 'silent' }) });
    const post = async (body: object, auth: Record<string, string>) => {
      const res = await yoga.fetch('http://bench/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(body),
      });
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
      const sent = [...seen];
      const statements = sent.map((s) => s.sql);
      const audit = statements.filter(isAudit).length;
      const auth = statements.filter(isClientLookup).length;
      // PostgreSQL's own time for the page statement, with the parameters it was sent with.
      const selects = sent.filter((s) => /^\s*select/i.test(s.sql) && /"customer"|\bcustomer c\b/.test(s.sql));
      const dbMsEach: number[] = [];
      for (const select of selects) dbMsEach.push(await explainMs(db, select.sql, select.values ?? []));
      const dbMs = dbMsEach.length ? dbMsEach.reduce((a, b) => a + b, 0) : NaN;
      reads.push({ pageSize: first, reads: statements.length - audit - auth, audit, auth, statements, dbMs, dbMsEach });
    }

    // One consent write at a time (issue 4): statements, and time inside the ledger's transaction.
    const ids = (await db.pool.query<{ id: string }>(`SELECT id FROM customer ORDER BY id DESC LIMIT ${LEDGER_WRITES}`)).rows.map(
      (r) => r.id,
    );
    let clientLookups = 0;
    const tx: number[] = [];
    const lock: number[] = [];
    const total: number[] = [];
    let counts = { statements: 0, inTransaction: 0, afterCommit: 0, audit: 0, afterCommitSql: [] as string[] };
    for (const id of ids) {
      seen.length = 0;
      const t0 = performance.now();
      const body = await post({ query: GRANT, variables: grantInput(id, 'marketing') }, RECORDER_HEADERS);
      if (body.errors) return { reads, ledger: `grantConsent failed: ${body.errors[0].message}` };
      total.push(performance.now() - t0);
      await sleep(20); // the audit insert is sent after the response
      // The client's key is read again now and then (the server caches it for a while): not part of a write.
      clientLookups += seen.filter((s) => isClientLookup(s.sql)).length;
      for (let i = seen.length - 1; i >= 0; i--) if (isClientLookup(seen[i].sql)) seen.splice(i, 1);
      const begin = seen.findIndex((s) => /^\s*BEGIN/i.test(s.sql));
      const commit = seen.findIndex((s) => /^\s*COMMIT/i.test(s.sql));
      const locking = seen.findIndex((s) => /pg_advisory_xact_lock/i.test(s.sql));
      if (begin >= 0 && commit > begin) tx.push(seen[commit].at - seen[begin].at);
      if (locking >= 0 && commit > locking && seen[commit].done) lock.push(seen[commit].done! - seen[locking].at);
      const after = commit >= 0 ? seen.slice(commit + 1) : [];
      counts = {
        statements: seen.length,
        inTransaction: commit > begin ? commit - begin + 1 : 0,
        afterCommit: after.filter((s) => !isAudit(s.sql)).length,
        audit: seen.filter((s) => isAudit(s.sql)).length,
        afterCommitSql: after.filter((s) => !isAudit(s.sql)).map((s) => s.sql.replace(/\s+/g, ' ').slice(0, 160)),
      };
    }
    return { reads, ledger: { ...counts, clientLookups, transactionMs: median(tx), lockMs: median(lock), mutationMs: median(total) } };
  } finally {
    proto.query = original;
    await db.close();
  }
}

const isAudit = (sql: string) => /insert\s+into\s+"?access_record/i.test(sql);
const isClientLookup = (sql: string) => /^\s*select\b/i.test(sql) && /\bfrom\s+("public"\.)?"?api_client\b/i.test(sql);

/** Median over 5 runs of EXPLAIN ANALYZE's planning + execution time (ms) of a statement. */
async function explainMs(
  db: { pool: { query: (text: string, values?: unknown[]) => Promise<{ rows: any[] }> } },
  sql: string,
  values: unknown[],
): Promise<number> {
  const times: number[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const { rows } = await db.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
      const json = rows[0]['QUERY PLAN'];
      const plan = (typeof json === 'string' ? JSON.parse(json) : json)[0] as { 'Planning Time': number; 'Execution Time': number };
      if (i > 0) times.push(plan['Planning Time'] + plan['Execution Time']); // the first warms the cache
    }
  } catch {
    return NaN; // reported as n/a
  }
  return median(times);
}
