// Extract throughput against its floor, on PostgreSQL: `npx node bench/extract.ts`
// (also section 7 of `npm run bench`). A scratch database (BENCH_EXTRACT_DATABASE_URL,
// default postgresql://postgres@127.0.0.1:5432/consentql_bench_extract) gets
// BENCH_EXTRACT_CUSTOMERS (default 1,000,000; 100,000 with --quick) synthetic
// customers once. The floor is a plain `COPY (SELECT the same columns of the same
// rows, in the same order) TO STDOUT`, read by the same driver in this process;
// the extract is POST /extracts through the real server over node:http, its body
// read to the end by curl (in a process of its own). Both rates, their ratio, the time to the first byte, and the
// process's resident memory (sampled every 50 ms) before and at its peak.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { syncPurposes } from '../src/db/purposes.ts';
import { syncDemoClients } from '../src/db/seed.ts';
import { resolveFields } from '../src/extracts/fields.ts';
import { rowsStatement } from '../src/extracts/sql.ts';
import { RowDecider } from '../src/extracts/decide-rows.ts';
import { createMasker } from '../src/masking/index.ts';
import { findPurpose } from '../src/policy/taxonomy.ts';
import { buildSchema } from '../src/schema/index.ts';
import { createServer } from '../src/server.ts';
import type { Report } from './report.ts';
import { verdict } from './report.ts';
import { HMAC_KEYS, log, PROOF_KEY, quick } from './settings.ts';

const run = promisify(execFile);
const URL_DEFAULT = 'postgresql://postgres@127.0.0.1:5432/consentql_bench_extract';
const CUSTOMERS = Number(process.env.BENCH_EXTRACT_CUSTOMERS ?? (quick ? 100_000 : 1_000_000));
const TARGET_ROWS_PER_SECOND = 100_000;
/**
 * What the analytics app would train on: a score, a segment, a value, a place, a date, and the
 * subject's pseudonym (a keyed HMAC per row). Each field masked to a keyed token adds one HMAC per row.
 */
const FIELDS = ['Customer.churnScore', 'Customer.segment', 'Customer.lifetimeValue', 'Customer.country', 'Customer.createdAt'];
const PURPOSE = 'analytics';
const KEY = 'dev-analytics-app-key';

export interface ExtractFigures {
  rows: number;
  floorRowsPerSecond: number;
  extractRowsPerSecond: Record<string, number>;
  ratio: number;
  firstByteMs: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  bytes: Record<string, number>;
}

async function prepare(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (['test', 'root', 'postgres', 'template0', 'template1'].includes(name) || /_test$/.test(name)) {
    throw new Error(`BENCH_EXTRACT_DATABASE_URL names "${name}": the extract bench reseeds its database; give it one of its own.`);
  }
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const a = new pg.Client({ connectionString: admin.toString() });
  await a.connect();
  if (!(await a.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount) {
    log(`creating database ${name}`);
    await a.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  }
  await a.end();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await migrate(c);
    await syncPurposes(c);
    await syncDemoClients(c);
    const have = (await c.query('SELECT count(*)::int AS n FROM customer')).rows[0].n as number;
    if (have === CUSTOMERS) {
      log(`reusing ${have.toLocaleString('en-US')} customers`);
      // Each run measures against an empty lineage, as the first run did.
      await c.query('TRUNCATE extract, extract_member');
    } else {
      log(`seeding ${CUSTOMERS.toLocaleString('en-US')} customers (once)`);
      await c.query('TRUNCATE customer, extract, extract_member CASCADE');
      // Seven in ten in US states (analytics until opt-out, one in twenty opted out),
      // three in ten in Germany (analytics by opt-in, two in three granted).
      await c.query(
        `INSERT INTO customer (id, external_id, email, first_name, last_name, birth_date, country, region, segment,
                               lifetime_value, churn_score, created_at, updated_at)
         SELECT md5('c' || i)::uuid, 'BENCH-' || i, 'bench' || i || '@example.test', 'First' || i % 1000, 'Last' || i % 997,
                DATE '1950-01-01' + ((i::bigint * 7919) % 20000)::int,
                CASE WHEN i % 10 < 7 THEN 'US' ELSE 'DE' END,
                CASE WHEN i % 10 < 7 THEN (ARRAY['NY', 'TX', 'CA', 'WA'])[1 + i % 4] END,
                (ARRAY['value', 'premium', 'at_risk', 'new'])[1 + i % 4],
                (i % 100000) / 100.0, ((i * 37) % 1000) / 1000.0,
                TIMESTAMP '2024-01-01' + (i % 86400) * INTERVAL '1 minute', now()
           FROM generate_series(1, $1::int) i`,
        [CUSTOMERS],
      );
      await c.query(
        `INSERT INTO consent_state (customer_id, purpose_key, regime, sensitive, action, purpose_version, source, last_event_id, updated_at)
         SELECT id, 'analytics', CASE country WHEN 'DE' THEN 'GDPR' WHEN 'US' THEN CASE region WHEN 'CA' THEN 'CCPA' ELSE 'US_STATE' END END::"Regime",
                false, CASE country WHEN 'DE' THEN 'GRANT' ELSE 'OPT_OUT' END::"ConsentAction", 1, 'CRM', 0, now()
           FROM customer
          WHERE (country = 'DE' AND get_byte(decode(md5(id::text), 'hex'), 0) % 3 <> 0)
             OR (country = 'US' AND get_byte(decode(md5(id::text), 'hex'), 0) % 20 = 0)`,
      );
      await c.query('VACUUM ANALYZE');
    }
  } finally {
    await c.end();
  }
}

/** Resident memory of this process, sampled until stopped: its peak. */
function sampleMemory() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}

/** The floor: the same columns of the same rows, by COPY, counting bytes and lines as they arrive. */
async function copyFloor(url: string): Promise<{ rows: number; seconds: number }> {
  const purpose = findPurpose(PURPOSE)!;
  const fields = resolveFields(buildSchema(), FIELDS);
  const statement = rowsStatement(purpose, 'per-jurisdiction', new Date(), fields, RowDecider.reads(purpose, fields));
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  // As the extract reads it (src/extracts/run.ts): without JIT.
  await c.query('SET jit = off');
  const inline = statement.text.replace(/\$(\d+)/g, (_, n) => c.escapeLiteral(String(statement.values[Number(n) - 1])));
  let rows = 0;
  // pg hands each CopyData message to the connection; a plain query then ends with CopyDone.
  const connection = (c as unknown as { connection: NodeJS.EventEmitter }).connection;
  connection.on('copyData', (msg: { chunk: Buffer }) => {
    for (let i = msg.chunk.indexOf(10); i !== -1; i = msg.chunk.indexOf(10, i + 1)) rows++;
  });
  const started = performance.now();
  await c.query(`COPY (${inline}) TO STDOUT`);
  const seconds = (performance.now() - started) / 1000;
  await c.end();
  return { rows, seconds };
}

/**
 * One extract, read to its end by curl in a process of its own, as a pipeline would read it
 * (a reader in the server's own event loop would take CPU from the server it measures).
 */
async function extract(port: number, format: string) {
  const headersFile = path.join(os.tmpdir(), `consentql-extract-bench-${process.pid}.headers`);
  const { stdout } = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-D',
    headersFile,
    '-w',
    '%{http_code} %{time_starttransfer} %{time_total} %{size_download}',
    '-X',
    'POST',
    `http://127.0.0.1:${port}/extracts`,
    '-H',
    'content-type: application/json',
    '-H',
    `authorization: Bearer ${KEY}`,
    '-H',
    `x-purpose: ${PURPOSE}`,
    '--data',
    JSON.stringify({ fields: FIELDS, format }),
  ]);
  const [status, firstByte, total, size] = stdout.trim().split(' ');
  const headers = fs.readFileSync(headersFile, 'utf8');
  fs.rmSync(headersFile, { force: true });
  if (status !== '200') throw new Error(`extract answered ${status}`);
  const id = /^x-extract-id:\s*(\d+)/im.exec(headers)?.[1];
  const manifest = (await (
    await fetch(`http://127.0.0.1:${port}/extracts/${id}/manifest`, { headers: { authorization: `Bearer ${KEY}` } })
  ).json()) as {
    rows: number;
    status: string;
  };
  if (manifest.status !== 'COMPLETE') throw new Error(`extract ${id} ended ${manifest.status}`);
  return { rows: manifest.rows, seconds: Number(total), firstByteMs: Number(firstByte) * 1000, bytes: Number(size) };
}

export async function measureExtract(report?: Report): Promise<ExtractFigures> {
  const url = process.env.BENCH_EXTRACT_DATABASE_URL ?? URL_DEFAULT;
  await prepare(url);
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, CONSENTQL_HMAC_KEYS: HMAC_KEYS, CONSENTQL_PROOF_KEY: PROOF_KEY });
  const db = await openDatabase({ databaseUrl: url });
  const yoga = createServer({ config, db, logger: pino({ level: 'silent' }), masker: createMasker(config.keys.hmac) });
  const server = http.createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    // Warm both paths (plans, caches) on a first run each, then measure.
    await copyFloor(url);
    const floor = await copyFloor(url);
    log(`COPY floor: ${floor.rows.toLocaleString('en-US')} rows in ${floor.seconds.toFixed(2)} s`);
    await extract(port, 'ndjson');
    const rssBefore = process.memoryUsage().rss;
    const peak = sampleMemory();
    const runs: Record<string, Awaited<ReturnType<typeof extract>>> = {};
    for (const format of ['ndjson', 'csv', 'parquet']) {
      runs[format] = await extract(port, format);
      log(
        `extract ${format}: ${runs[format].rows.toLocaleString('en-US')} rows in ${runs[format].seconds.toFixed(2)} s, first byte ${runs[format].firstByteMs.toFixed(0)} ms`,
      );
    }
    const rssPeak = peak();
    const rate = (rows: number, s: number) => Math.round(rows / s);
    const figures: ExtractFigures = {
      rows: runs.ndjson.rows,
      floorRowsPerSecond: rate(floor.rows, floor.seconds),
      extractRowsPerSecond: Object.fromEntries(Object.entries(runs).map(([f, r]) => [f, rate(r.rows, r.seconds)])),
      ratio: rate(runs.ndjson.rows, runs.ndjson.seconds) / rate(floor.rows, floor.seconds),
      firstByteMs: Math.round(runs.ndjson.firstByteMs),
      rssBeforeMb: Math.round(rssBefore / 2 ** 20),
      rssPeakMb: Math.round(rssPeak / 2 ** 20),
      bytes: Object.fromEntries(Object.entries(runs).map(([f, r]) => [f, r.bytes])),
    };
    if (floor.rows !== runs.ndjson.rows)
      throw new Error(`the floor read ${floor.rows} rows, the extract ${runs.ndjson.rows}: not the same rows`);
    console.log(JSON.stringify({ customers: CUSTOMERS, fields: FIELDS, ...figures }, null, 2));
    if (report) {
      const section = '7. Extracts (PostgreSQL)';
      const ok = figures.extractRowsPerSecond.ndjson >= TARGET_ROWS_PER_SECOND;
      report.add(
        section,
        `COPY of the same rows and columns (floor), ${figures.rows.toLocaleString('en-US')} rows`,
        `${figures.floorRowsPerSecond.toLocaleString('en-US')} rows/s`,
      );
      for (const [format, perSecond] of Object.entries(figures.extractRowsPerSecond)) {
        report.add(
          section,
          `POST /extracts, ${format}`,
          `${perSecond.toLocaleString('en-US')} rows/s`,
          format === 'ndjson' ? '≥ 100,000 rows/s' : '',
          format === 'ndjson' ? verdict(ok) : '',
        );
      }
      report.add(section, 'NDJSON rate / COPY floor', figures.ratio.toFixed(2));
      report.add(section, 'time to the first byte of the response (ndjson)', `${figures.firstByteMs} ms`);
      report.add(section, 'process RSS before → peak over the three extracts', `${figures.rssBeforeMb} → ${figures.rssPeakMb} MB`, 'flat');
      report.targets.push(
        ok
          ? `Extract at ${figures.extractRowsPerSecond.ndjson.toLocaleString('en-US')} rows/s: met (≥ 100,000).`
          : `Extract at ${figures.extractRowsPerSecond.ndjson.toLocaleString('en-US')} rows/s: MISSED (≥ 100,000); the floor (COPY) reads ${figures.floorRowsPerSecond.toLocaleString('en-US')} rows/s.`,
      );
      report.notes.push(
        `Extracts: ${CUSTOMERS.toLocaleString('en-US')} synthetic customers in their own database, purpose analytics, fields ${FIELDS.join(', ')} and the subject's pseudonym (one keyed HMAC per row; each field masked to a token adds another); the server runs in the bench process (its resident memory is the server's), curl reads each body to the end.`,
      );
    }
    return figures;
  } finally {
    server.close();
    await db.close();
  }
}

if (process.argv[1]?.endsWith('extract.ts')) {
  try {
    await measureExtract();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}
