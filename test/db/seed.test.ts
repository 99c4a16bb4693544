import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { migrate, pgliteClient } from '../../src/db/migrate.ts';
import {
  DEMO_PERSONAS,
  SEED_REFERENCE_DATE,
  SEED_TABLES,
  SeedRefusedError,
  seed,
  syncPurposes,
  type SeedSummary,
} from '../../src/db/seed.ts';
import { DEMO_CLIENTS, hashApiKey } from '../../src/db/demo-clients.ts';
import { PURPOSES } from '../../src/policy/taxonomy.ts';
import { isMinor, regimeOf } from '../../src/policy/regime.ts';

// Two fresh in-process databases, migrated and seeded with the same small data
// set: they must hold exactly the same rows. Independent of the shared test
// database of the global setup.
const CUSTOMERS = 500;
let a: PGlite;
let b: PGlite;
let summaryA: SeedSummary;

/** count and md5 over every row of each seeded table, in a fixed order. */
async function fingerprint(db: PGlite): Promise<Record<string, { n: number; md5: string }>> {
  const out: Record<string, { n: number; md5: string }> = {};
  for (const table of SEED_TABLES) {
    const { rows } = await db.query<{ n: number; md5: string }>(
      `SELECT count(*)::int AS n, md5(COALESCE(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 FROM "${table}" t`,
    );
    out[table] = rows[0];
  }
  return out;
}

async function personaStates(db: PGlite, externalId: string) {
  const { rows } = await db.query<any>(
    `SELECT s.purpose_key, s.regime, s.sensitive, s.action, s.purpose_version, s.expires_at, s.source
       FROM consent_state s JOIN customer c ON c.id = s.customer_id
      WHERE c.external_id = $1 ORDER BY s.purpose_key, s.sensitive`,
    [externalId],
  );
  return rows;
}

beforeAll(async () => {
  [a, b] = await Promise.all([PGlite.create(), PGlite.create()]);
  for (const db of [a, b]) await migrate(pgliteClient(db));
  summaryA = await seed(pgliteClient(a), { customers: CUSTOMERS });
  await seed(pgliteClient(b), { customers: CUSTOMERS });
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe('seed()', () => {
  it('summarises what it wrote', async () => {
    expect(summaryA.customers).toBe(CUSTOMERS + DEMO_PERSONAS.length);
    expect(summaryA.personas).toBe(DEMO_PERSONAS.length);
    expect(summaryA.rows.customer).toBe(CUSTOMERS + DEMO_PERSONAS.length);
    expect(summaryA.rows.purpose).toBe(PURPOSES.length);
    expect(summaryA.rows.api_client).toBe(DEMO_CLIENTS.length);
    for (const table of SEED_TABLES) expect(summaryA.rows[table], table).toBeGreaterThan(0);
    expect(summaryA.elapsedMs).toBeGreaterThan(0);
  });

  it('is deterministic: two fresh databases get identical rows', async () => {
    const [fa, fb] = await Promise.all([fingerprint(a), fingerprint(b)]);
    expect(fa).toEqual(fb);
    // ids, not only contents: the consent ledger's ids and the UUIDs are stable too.
    const ids = async (db: PGlite) =>
      (await db.query<any>(`SELECT md5(string_agg(id::text || customer_id::text, ',' ORDER BY id)) AS h FROM consent_event`)).rows[0].h;
    expect(await ids(a)).toBe(await ids(b));
  });

  it('writes version-4 UUIDs and timestamps no later than the reference date', async () => {
    const { rows } = await a.query<any>(
      `SELECT count(*) FILTER (WHERE id::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')::int AS bad,
              max(created_at) AS created FROM customer`,
    );
    expect(rows[0].bad).toBe(0);
    const latest = await a.query<any>(
      `SELECT greatest((SELECT max(recorded_at) FROM consent_event), (SELECT max(placed_at) FROM "order"),
                       (SELECT max(sent_at) FROM ticket_message), (SELECT max(occurred_at) FROM web_event),
                       (SELECT max(occurred_at) FROM marketing_interaction), (SELECT max(updated_at) FROM customer)) AS t`,
    );
    expect(new Date(latest.rows[0].t).getTime()).toBeLessThanOrEqual(SEED_REFERENCE_DATE.getTime());
  });

  it('keeps the denormalised customer_id of order items and ticket messages right', async () => {
    const { rows } = await a.query<any>(
      `SELECT (SELECT count(*) FROM order_item i JOIN "order" o ON o.id = i.order_id WHERE i.customer_id <> o.customer_id)::int AS items,
              (SELECT count(*) FROM ticket_message m JOIN support_ticket t ON t.id = m.ticket_id WHERE m.customer_id <> t.customer_id)::int AS messages,
              (SELECT count(*) FROM "order" o WHERE o.total <> (SELECT sum(quantity * unit_price) FROM order_item i WHERE i.order_id = o.id))::int AS totals`,
    );
    expect(rows[0]).toEqual({ items: 0, messages: 0, totals: 0 });
  });

  it('records consent only for consent-based purposes, with the regime of where the subject lives', async () => {
    const { rows } = await a.query<any>(
      `SELECT e.purpose_key, e.regime, c.country, c.region FROM consent_event e JOIN customer c ON c.id = e.customer_id`,
    );
    expect(rows.length).toBeGreaterThan(CUSTOMERS / 2);
    for (const r of rows) {
      expect(['transactional', 'support']).not.toContain(r.purpose_key);
      expect(r.regime).toBe(regimeOf(r.country, r.region));
    }
    const kinds = await a.query<any>(
      `SELECT count(*) FILTER (WHERE source = 'GPC' AND action = 'OPT_OUT' AND purpose_key = 'ad_sharing' AND regime = 'CCPA')::int AS gpc,
              count(*) FILTER (WHERE action = 'WITHDRAW')::int AS withdrawn,
              count(*) FILTER (WHERE action = 'GRANT' AND expires_at < $1)::int AS expired,
              count(*) FILTER (WHERE sensitive AND action = 'GRANT' AND regime = 'GDPR')::int AS sensitive_grants,
              count(*) FILTER (WHERE sensitive AND action = 'OPT_OUT' AND regime = 'CCPA')::int AS limit_opt_outs,
              count(DISTINCT customer_id) FILTER (WHERE purpose_key = 'ai_training' AND action = 'GRANT')::int AS ai
         FROM consent_event`,
      [SEED_REFERENCE_DATE.toISOString()],
    );
    const k = kinds.rows[0];
    for (const [name, n] of Object.entries(k)) expect(n, name).toBeGreaterThan(0);
    expect(k.ai / (CUSTOMERS + DEMO_PERSONAS.length)).toBeGreaterThan(0.08);
    expect(k.ai / (CUSTOMERS + DEMO_PERSONAS.length)).toBeLessThan(0.25);
  });

  it('derives consent_state as the latest event per subject, purpose, regime and scope', async () => {
    const events = (
      await a.query<any>(
        `SELECT id::text AS id, customer_id, purpose_key, regime, sensitive, action, purpose_version, expires_at, source, recorded_at
           FROM consent_event`,
      )
    ).rows;
    const latest = new Map<string, any>();
    for (const e of events) {
      const key = [e.customer_id, e.purpose_key, e.regime, e.sensitive].join('|');
      const cur = latest.get(key);
      const later =
        !cur ||
        e.recorded_at.getTime() > cur.recorded_at.getTime() ||
        (e.recorded_at.getTime() === cur.recorded_at.getTime() && BigInt(e.id) > BigInt(cur.id));
      if (later) latest.set(key, e);
    }
    const states = (
      await a.query<any>(
        `SELECT customer_id, purpose_key, regime, sensitive, action, purpose_version, expires_at, source,
                last_event_id::text AS last_event_id, updated_at FROM consent_state`,
      )
    ).rows;
    expect(states.length).toBe(latest.size);
    for (const s of states) {
      const e = latest.get([s.customer_id, s.purpose_key, s.regime, s.sensitive].join('|'));
      expect(e, `state without events: ${s.customer_id} ${s.purpose_key}`).toBeDefined();
      expect(s).toEqual({
        customer_id: e.customer_id,
        purpose_key: e.purpose_key,
        regime: e.regime,
        sensitive: e.sensitive,
        action: e.action,
        purpose_version: e.purpose_version,
        expires_at: e.expires_at,
        source: e.source,
        last_event_id: e.id,
        updated_at: e.recorded_at,
      });
    }
  });

  it('stores the demo clients by key hash only', async () => {
    const { rows } = await a.query<any>(`SELECT name, key_hash, role, allowed_purposes, can_explain, t::text AS raw FROM api_client t`);
    expect(rows).toHaveLength(DEMO_CLIENTS.length);
    for (const client of DEMO_CLIENTS) {
      const row = rows.find((r) => r.name === client.name);
      expect(row.key_hash).toBe(hashApiKey(client.apiKey));
      expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.allowed_purposes).toEqual([...client.allowedPurposes]);
      expect(row.role).toBe(client.role);
      expect(row.raw).not.toContain(client.apiKey);
    }
    const admin = rows.find((r) => r.role === 'ADMIN');
    expect(admin.can_explain).toBe(true);
    expect(admin.allowed_purposes).toEqual(PURPOSES.map((p) => p.key));
  });

  it('syncs the purposes from the taxonomy, and a second sync changes nothing', async () => {
    const { rows } = await a.query<any>(`SELECT key, title, description, version FROM purpose ORDER BY key`);
    expect(rows).toEqual(
      PURPOSES.map((p) => ({ key: p.key, title: p.title, description: p.description, version: p.version })).sort((x, y) =>
        x.key < y.key ? -1 : 1,
      ),
    );
    expect(await syncPurposes(pgliteClient(a))).toEqual({ changed: [] });
  });
});

describe('demo personas', () => {
  it('exist with fixed external ids, each with an order and a support conversation', async () => {
    const { rows } = await a.query<any>(
      `SELECT c.external_id, c.country, c.region,
              (SELECT count(*) FROM "order" o WHERE o.customer_id = c.id)::int AS orders,
              (SELECT min(n) FROM (SELECT count(m.id) AS n FROM support_ticket t LEFT JOIN ticket_message m ON m.ticket_id = t.id
                                    WHERE t.customer_id = c.id GROUP BY t.id) x)::int AS min_messages
         FROM customer c WHERE c.external_id = ANY($1::text[])`,
      [DEMO_PERSONAS.map((p) => p.externalId)],
    );
    expect(rows).toHaveLength(DEMO_PERSONAS.length);
    for (const p of DEMO_PERSONAS) {
      const row = rows.find((r) => r.external_id === p.externalId);
      // Stored in normal form (migration 20261130194000_normalise_jurisdiction): 'Berlin' is kept as 'BERLIN'.
      expect(row, p.externalId).toMatchObject({ country: p.country?.toUpperCase() ?? null, region: p.region?.toUpperCase() ?? null });
      expect(row.orders, p.externalId).toBeGreaterThanOrEqual(1);
      expect(row.min_messages, p.externalId).toBeGreaterThanOrEqual(2);
    }
  });

  it('hold the consent they promise', async () => {
    const none = ['CRM-EU-NO-MARKETING', 'CRM-CA-DEFAULT', 'CRM-CA-MINOR', 'CRM-VA-SENSITIVE', 'CRM-UNKNOWN'];
    for (const id of none) expect(await personaStates(a, id), id).toEqual([]);

    expect(await personaStates(a, 'CRM-EU-MARKETING')).toEqual([
      {
        purpose_key: 'marketing',
        regime: 'GDPR',
        sensitive: false,
        action: 'GRANT',
        purpose_version: 1,
        expires_at: null,
        source: 'CONSENT_CENTER',
      },
    ]);
    expect(await personaStates(a, 'CRM-CA-GPC')).toEqual([
      {
        purpose_key: 'ad_sharing',
        regime: 'CCPA',
        sensitive: false,
        action: 'OPT_OUT',
        purpose_version: 1,
        expires_at: null,
        source: 'GPC',
      },
    ]);
    expect(await personaStates(a, 'CRM-EU-AI-TRAINING')).toMatchObject([
      { purpose_key: 'ai_training', regime: 'GDPR', sensitive: false, action: 'GRANT', purpose_version: 1, expires_at: null },
    ]);
    expect(await personaStates(a, 'CRM-EU-WITHDRAWN')).toMatchObject([
      { purpose_key: 'marketing', regime: 'GDPR', sensitive: false, action: 'WITHDRAW' },
    ]);
    const withdrawn = await a.query<any>(
      `SELECT e.action FROM consent_event e JOIN customer c ON c.id = e.customer_id
        WHERE c.external_id = 'CRM-EU-WITHDRAWN' ORDER BY e.recorded_at`,
    );
    expect(withdrawn.rows.map((r) => r.action)).toEqual(['GRANT', 'WITHDRAW']);
    const expired = await personaStates(a, 'CRM-EU-EXPIRED');
    expect(expired).toMatchObject([{ purpose_key: 'analytics', regime: 'GDPR', action: 'GRANT' }]);
    expect(expired[0].expires_at.getTime()).toBeLessThan(SEED_REFERENCE_DATE.getTime());
  });

  it('have the attributes their cases depend on', async () => {
    const { rows } = await a.query<any>(
      `SELECT external_id, birth_date, health_interests, precise_location, country, region FROM customer
        WHERE external_id IN ('CRM-CA-MINOR', 'CRM-CA-DEFAULT', 'CRM-VA-SENSITIVE', 'CRM-UNKNOWN')`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.external_id, r]));
    expect(isMinor(by['CRM-CA-MINOR'].birth_date, SEED_REFERENCE_DATE)).toBe(true);
    expect(isMinor(by['CRM-CA-DEFAULT'].birth_date, SEED_REFERENCE_DATE)).toBe(false);
    expect(regimeOf(by['CRM-CA-MINOR'].country, by['CRM-CA-MINOR'].region)).toBe('CCPA');
    expect(by['CRM-VA-SENSITIVE'].health_interests.length).toBeGreaterThan(0);
    expect(regimeOf(by['CRM-VA-SENSITIVE'].country, by['CRM-VA-SENSITIVE'].region)).toBe('US_STATE');
    expect(regimeOf(by['CRM-UNKNOWN'].country, by['CRM-UNKNOWN'].region)).toBe('NONE');
  });
});

describe('seeding again', () => {
  it('refuses without reset, with a clear error, and changes nothing', async () => {
    const before = await fingerprint(a);
    const err = await seed(pgliteClient(a), { customers: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeedRefusedError);
    expect((err as Error).message).toMatch(/already holds 510 customers/);
    expect((err as Error).message).toMatch(/--reset/);
    expect(await fingerprint(a)).toEqual(before);
  });

  it('with reset, deletes everything and seeds the same data again', async () => {
    await a.query(`INSERT INTO access_record (purpose_key, fields_masked, rows_excluded) VALUES ('marketing', 1, 0)`);
    const summary = await seed(pgliteClient(a), { customers: CUSTOMERS, reset: true });
    expect(summary.rows).toEqual(summaryA.rows);
    expect((await a.query<any>('SELECT count(*)::int AS n FROM access_record')).rows[0].n).toBe(0);
    expect(await fingerprint(a)).toEqual(await fingerprint(b));
  });
});
