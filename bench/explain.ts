// node bench/explain.ts: the SQL statements the enforced server sends for the benchmark's page
// (captured at the pg wire, in-process) with EXPLAIN (ANALYZE, BUFFERS) of each.
// FIRST=<page size> (default 100), Q=<another query>, EXPLAIN=time (median planning +
// execution of 6 runs instead of the plan), EXPLAIN=0 (SQL only), EXPLAIN=plans (whether
// PostgreSQL keeps the prepared statement's generic plan: 8 executions on one connection,
// then its generic and custom plan counts); URL=<database url> or
// DATA_DIR=<embedded data directory> (default the full benchmark database).
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { createServer } from '../src/server.ts';
import { QUERY, HEADERS } from './settings.ts';
const first = Number(process.env.FIRST ?? 100);
const query = process.env.Q ?? QUERY;
const seen: { sql: string; values?: unknown[] }[] = [];
const proto = pg.Client.prototype as any;
const original = proto.query;
proto.query = function (...args: any[]) {
  const q = args[0];
  const values = typeof q === 'string' ? args[1] : q?.values;
  seen.push({ sql: typeof q === 'string' ? q : String(q?.text ?? q), values });
  return original.apply(this, args);
};
const db = await openDatabase(
  process.env.DATA_DIR
    ? { dataDir: process.env.DATA_DIR }
    : { databaseUrl: process.env.URL ?? 'postgresql://postgres@127.0.0.1:5432/consentql_bench' },
);
const yoga = createServer({ config: loadConfig({ NODE_ENV: 'test' }), db, logger: pino({ level: 'silent' }) });
const post = async () => {
  const res = await yoga.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { ...HEADERS },
    body: JSON.stringify({ query, variables: { first } }),
  });
  return (await res.json()) as any;
};
await post();
seen.length = 0;
const body = await post();
await new Promise((r) => setTimeout(r, 100));
proto.query = original;
const sel = seen.filter((s) => /^\s*select/i.test(s.sql) && /"customer"|\bcustomer c\b/.test(s.sql));
for (const s of sel) {
  console.log(`---- SQL ${process.env.EXPLAIN === 'time' ? s.sql.slice(0, 60) : `${s.sql}\n---- values ${JSON.stringify(s.values)}`}`);
  if (process.env.EXPLAIN === 'time') {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const { rows } = await db.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`, s.values as any[]);
      const plan = rows[0]['QUERY PLAN'][0];
      if (i > 0) times.push(plan['Planning Time'] + plan['Execution Time']);
    }
    times.sort((a, b) => a - b);
    console.log(`planning + execution, median of 6: ${times[3].toFixed(2)} ms (min ${times[0].toFixed(2)})`);
  } else if (process.env.EXPLAIN === 'plans') {
    const client = await db.pool.connect();
    for (let i = 0; i < 8; i++) await client.query({ name: 'explain_plans', text: s.sql, values: s.values as any[] });
    const { rows } = await client.query(`SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'explain_plans'`);
    console.log(`of 8 executions: ${rows[0].generic_plans} with the generic plan, ${rows[0].custom_plans} planned for their values`);
    await client.query('DEALLOCATE explain_plans');
    client.release();
  } else if (process.env.EXPLAIN !== '0') {
    const { rows } = await db.pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.values as any[]);
    console.log(rows.map((r: any) => r['QUERY PLAN']).join('\n'));
  }
}
console.log(
  'rows',
  body.data?.customers?.edges?.length,
  'errors',
  JSON.stringify(body.errors)?.slice(0, 300),
  'ids-hash',
  (body.data?.customers?.edges ?? []).map((e: any) => e.node.id).join(',').length,
);
await db.close();
