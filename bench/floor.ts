// The floor of section 1: what serving the benchmark's page costs with no GraphQL, no ORM and
// no consent layer. A bare node:http server that answers every POST with one SQL statement
// (pg) and JSON.stringify, in the shape of the GraphQL response. Run as its own process
// (node bench/floor.ts), like the API servers, so that its CPU time and RSS are its own.
// Prints "READY <port>" on stdout once it listens.
//
// It selects the same rows as the API: the first `first` customers by id among those the
// analytics purpose may process (the same rule as src/schema/permitted-where.ts for
// analytics in per-jurisdiction mode: opt-in under GDPR and for unknown jurisdictions, opt-out
// in California and the other US states), written by hand as one UNION ALL per regime so
// that each branch is a semi- or anti-join that stops at the page. It masks nothing: the
// 11 columns are returned in clear. The bench checks that it serves the same ids as the
// enforced server before measuring it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { GDPR_COUNTRIES } from '../src/policy/regime.ts';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('bench/floor.ts needs DATABASE_URL (PostgreSQL)');
// timestamp without time zone, stored in UTC (as Prisma writes it): read it as UTC.
pg.types.setTypeParser(1114, (s: string) => new Date(`${s.replace(' ', 'T')}Z`));
const pool = new pg.Pool({ connectionString: url, max: 10 });

const gdpr = GDPR_COUNTRIES.map((c) => `'${c}'`).join(',');
const grant = (regime: string) =>
  `EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose_key = 'analytics' AND s.regime = '${regime}' AND NOT s.sensitive ` +
  `AND s.action IN ('GRANT', 'OPT_IN') AND s.purpose_version = $2 AND (s.expires_at IS NULL OR s.expires_at > $1::timestamp(3)))`;
const noWithdrawal = (regime: string) =>
  `NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose_key = 'analytics' AND s.regime = '${regime}' AND NOT s.sensitive ` +
  `AND s.action IN ('WITHDRAW', 'OPT_OUT'))`;
const BRANCHES = [
  `c.country IN (${gdpr}) AND ${grant('GDPR')}`,
  `c.country = 'US' AND c.region = 'CA' AND ${noWithdrawal('CCPA')}`,
  `c.country = 'US' AND c.region IS NOT NULL AND c.region <> 'CA' AND ${noWithdrawal('US_STATE')}`,
  `(c.country IS NULL OR (c.country = 'US' AND c.region IS NULL) OR (c.country NOT IN (${gdpr}) AND c.country <> 'US')) AND ${grant('NONE')}`,
];
/** The ids of the page: the first $3 permitted customers by id. */
const PAGE_IDS = `SELECT id FROM (${BRANCHES.map((b) => `(SELECT c.id FROM customer c WHERE ${b} ORDER BY c.id LIMIT $3)`).join(' UNION ALL ')}) p ORDER BY id LIMIT $3`;
const COLUMNS = `c.id, c.email, c.phone, c.first_name AS "firstName", c.city, c.segment, c.churn_score AS "churnScore", c.risk_band AS "riskBand",
  c.lifetime_value AS "lifetimeValue", c.country, c.created_at AS "createdAt"`;
const FLAT = `SELECT ${COLUMNS} FROM customer c WHERE c.id IN (${PAGE_IDS}) ORDER BY c.id`;
const NESTED = `SELECT ${COLUMNS},
  (SELECT coalesce(json_agg(o), '[]') FROM (SELECT o.id, o.status, o.total::text AS total, o.placed_at AS "placedAt" FROM "order" o
     WHERE o.customer_id = c.id ORDER BY o.placed_at DESC, o.id LIMIT 5) o) AS orders,
  (SELECT coalesce(json_agg(t), '[]') FROM (SELECT t.id, t.status, t.channel, t.opened_at AS "openedAt" FROM support_ticket t
     WHERE t.customer_id = c.id ORDER BY t.opened_at DESC, t.id LIMIT 2) t) AS tickets
  FROM customer c WHERE c.id IN (${PAGE_IDS}) ORDER BY c.id`;
const ANALYTICS_VERSION = Number(process.env.FLOOR_PURPOSE_VERSION ?? 1);

async function page(first: number, nested: boolean): Promise<string> {
  const { rows } = await pool.query(nested ? NESTED : FLAT, [new Date().toISOString(), ANALYTICS_VERSION, first]);
  return JSON.stringify({ data: { customers: { edges: rows.map((node) => ({ node })) } } });
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: { query?: string; variables?: { first?: number } };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const first = Math.min(Math.max(Number(body.variables?.first ?? 20), 0), 1000);
    page(first, /\borders\b/.test(body.query ?? '')).then(
      (json) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(json),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
    );
  });
});
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);

const stop = () => {
  server.closeAllConnections();
  server.close(() => void pool.end().finally(() => process.exit(0)));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
