import { performance } from 'node:perf_hooks';
import { isPool, type SeedClient } from './seed/client.ts';
import { deriveConsentState } from './seed/consent-state.ts';
import { DAY, DEFAULT_SEED_CUSTOMERS, NOW, SEED_REFERENCE_DATE } from './seed/constants.ts';
import { SeedRefusedError } from './seed/errors.ts';
import { generate } from './seed/generate.ts';
import { insertBuffer, type BufferedTable } from './seed/insert.ts';
import { ledgerBuffer } from './seed/ledger.ts';
import { PERSONA_SPECS } from './seed/personas.ts';
import { syncDemoClients, syncPurposes } from './seed/sync.ts';
import { ALL_TABLES, SEED_TABLES, type SeedTable } from './seed/tables.ts';

// The demo data set: a realistic CRM with varied consent histories, generated
// deterministically (a seeded PRNG (sfc32), UUIDs drawn from it, one fixed reference
// date) so that every run, on every machine, writes exactly the same rows.
// Generation is pure and in memory (./seed/generate.ts); this module writes the
// result in one transaction, then derives consent_state from the ledger in SQL.

export type { SeedClient } from './seed/client.ts';
export { deriveConsentState } from './seed/consent-state.ts';
export { DEFAULT_SEED_CUSTOMERS, SEED_REFERENCE_DATE } from './seed/constants.ts';
export { SeedRefusedError } from './seed/errors.ts';
export { DEMO_PERSONAS, type DemoPersona } from './seed/personas.ts';
export { sfc32 } from './seed/random.ts';
export { syncDemoClients, syncPurposes } from './seed/sync.ts';
export { SEED_TABLES, type SeedTable } from './seed/tables.ts';

export interface SeedOptions {
  /** Generated customers, on top of the named personas. Default 5,000. */
  customers?: number;
  /** Delete all data (CRM, consent, clients, audit, outbox, webhooks) before seeding. */
  reset?: boolean;
  log?: (message: string) => void;
}

export interface SeedSummary {
  /** Rows per table after seeding. */
  rows: Record<SeedTable, number>;
  /** Generated customers plus personas. */
  customers: number;
  personas: number;
  elapsedMs: number;
}

async function countRows(client: SeedClient): Promise<Record<SeedTable, number>> {
  const { rows } = await client.query(`SELECT ${SEED_TABLES.map((t) => `(SELECT count(*) FROM "${t}")::int AS "${t}"`).join(', ')}`);
  const out = {} as Record<SeedTable, number>;
  for (const t of SEED_TABLES) out[t] = Number(rows[0][t]);
  return out;
}

async function refuseIfSeeded(client: SeedClient): Promise<void> {
  const { rows } = await client.query('SELECT count(*)::int AS n FROM "customer"');
  const existing = Number(rows[0].n);
  if (existing > 0) {
    throw new SeedRefusedError(
      `Seed refused: the database already holds ${existing} customer${existing === 1 ? '' : 's'}. ` +
        `Seeding again would clash with them (external ids, emails) or mix demo data into real data. ` +
        `To replace everything with the demo data set, run \`npm run db:seed -- --reset\` (or seed(client, { reset: true })), ` +
        `which deletes ALL data first; or point DATABASE_URL at an empty database.`,
    );
  }
}

/**
 * Seeds the demo data set in one transaction. Refuses (SeedRefusedError) when
 * customers already exist, unless `reset` deletes all data first.
 */
export async function seed(client: SeedClient, options: SeedOptions = {}): Promise<SeedSummary> {
  if (isPool(client)) {
    const session = await client.connect();
    try {
      return await seed(session, options);
    } finally {
      session.release();
    }
  }
  const started = performance.now();
  const log = options.log ?? (() => {});
  const customers = options.customers ?? DEFAULT_SEED_CUSTOMERS;
  if (!Number.isInteger(customers) || customers < 0) {
    throw new Error(`seed: customers must be a non-negative integer, got ${customers}`);
  }

  // Fail fast before generating; the check that counts is repeated under the lock below.
  if (!options.reset) await refuseIfSeeded(client);

  const ds = generate(customers);
  log(
    `generated ${ds.customer.length} customers, ${ds.order.length} orders, ${ds.events.length} consent events in ${Math.round(performance.now() - started)} ms`,
  );

  await client.query('BEGIN');
  try {
    // Two seeds at once must not interleave: the second waits, then refuses.
    await client.query('LOCK TABLE "customer" IN SHARE ROW EXCLUSIVE MODE');
    if (options.reset) {
      await client.query(`TRUNCATE ${ALL_TABLES.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY CASCADE`);
      log('reset: deleted all data');
    } else {
      await refuseIfSeeded(client);
    }

    await syncPurposes(client, { now: SEED_REFERENCE_DATE });
    await syncDemoClients(client, { now: new Date(NOW - 30 * DAY) });

    const order: Exclude<BufferedTable, 'consent_event'>[] = [
      'customer',
      'order',
      'order_item',
      'support_ticket',
      'ticket_message',
      'marketing_interaction',
      'web_event',
    ];
    for (const table of order) {
      const t0 = performance.now();
      await insertBuffer(client, table, ds[table]);
      log(`${table}: ${ds[table].length} rows in ${Math.round(performance.now() - t0)} ms`);
    }

    // The ledger, with explicit ids (stable from run to run), then the sequence moved past them.
    const { rows: maxRows } = await client.query('SELECT COALESCE(max("id"), 0)::int8 AS m FROM "consent_event"');
    const firstId = BigInt(maxRows[0].m) + 1n;
    const ledger = ledgerBuffer(ds.events, firstId);
    const t0 = performance.now();
    await insertBuffer(client, 'consent_event', ledger);
    await client.query(
      `SELECT setval(pg_get_serial_sequence('"consent_event"', 'id'), GREATEST((SELECT max("id") FROM "consent_event"), 1))`,
    );
    await deriveConsentState(client);
    log(`consent_event: ${ledger.length} rows, consent_state derived in ${Math.round(performance.now() - t0)} ms`);

    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }

  // Fresh statistics for the planner: PGlite runs no autovacuum, and without
  // them the page query on a new embedded database is half again as slow.
  await client.query('ANALYZE');
  const rows = await countRows(client);
  const elapsedMs = Math.round(performance.now() - started);
  log(`seeded in ${elapsedMs} ms`);
  return { rows, customers: ds.customer.length, personas: PERSONA_SPECS.length, elapsedMs };
}
