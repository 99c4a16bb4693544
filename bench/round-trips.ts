// Database round trips per request, counted in-process at the `pg` wire level:
// every statement any pg.Client sends (Prisma's through @prisma/adapter-pg,
// the audit insert, a transaction's BEGIN/COMMIT) goes through Client#query.
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type OpenOptions } from '../src/db/database.ts';
import { createServer } from '../src/server.ts';
import { median, sleep } from './lib.ts';

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
  /** Median ms from sending BEGIN to sending COMMIT (the ledger's advisory lock is held for most of it). */
  transactionMs: number;
  /** Median ms of the whole mutation, in-process, one at a time. */
  mutationMs: number;
}

const GRANT = `mutation($input: ConsentChoiceInput!) { grantConsent(input: $input) { events { id } } }`;

export async function countRoundTrips(
  dbOptions: OpenOptions,
  query: string,
  headers: Record<string, string>,
  pageSizes: number[],
): Promise<{ reads: RoundTrips[]; ledger: LedgerWrite | string }> {
  const seen: { sql: string; at: number }[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    seen.push({ sql: typeof q === 'string' ? q : String((q as { text?: string })?.text ?? q), at: performance.now() });
    return original.apply(this, args);
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
    const total: number[] = [];
    let counts = { statements: 0, inTransaction: 0 };
    for (const id of ids) {
      seen.length = 0;
      const t0 = performance.now();
      const input = { subject: { id }, purposes: ['marketing'], source: 'API', noticeVersion: 'bench-1' };
      const body = await post({ query: GRANT, variables: { input } }, { authorization: 'Bearer dev-consent-center-key' });
      if (body.errors) return { reads, ledger: `grantConsent failed: ${body.errors[0].message}` };
      total.push(performance.now() - t0);
      const begin = seen.findIndex((s) => /^\s*BEGIN/i.test(s.sql));
      const commit = seen.findIndex((s) => /^\s*COMMIT/i.test(s.sql));
      if (begin >= 0 && commit > begin) tx.push(seen[commit].at - seen[begin].at);
      counts = { statements: seen.length, inTransaction: commit > begin ? commit - begin + 1 : 0 };
    }
    return { reads, ledger: { ...counts, transactionMs: median(tx), mutationMs: median(total) } };
  } finally {
    proto.query = original;
    await db.close();
  }
}
