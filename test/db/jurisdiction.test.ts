import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../src/generated/prisma/client.ts';
import { permits } from '../../src/policy/decide.ts';
import { isMinor, regimeOf } from '../../src/policy/regime.ts';
import { PURPOSES, type PurposeKey } from '../../src/policy/taxonomy.ts';
import { REGIMES, type ConsentAction, type DeploymentMode, type Regime } from '../../src/policy/types.ts';
import { permittedWhere } from '../../src/schema/permitted-where.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

// The regime of a subject is computed twice: by regimeOf() in code (which
// trims and upper-cases) and by permittedWhere() in SQL (which compares the
// stored columns). They agree only because the database keeps country and
// region normalised (migration 20261130194000_normalise_jurisdiction). These
// rows are written the way a CRM sync or an operator would write them, with
// the jurisdiction spelled every which way.

const MODES: readonly DeploymentMode[] = ['per-jurisdiction', 'strictest'];
const TRIGGER = 'customer_normalise_jurisdiction';
const now = new Date();
const minorBirthDate = new Date(Date.UTC(now.getUTCFullYear() - 10, 0, 15));
const adultBirthDate = new Date(Date.UTC(1980, 5, 1));
const ymd = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);

interface Fixture {
  name: string;
  country: string | null;
  region: string | null;
  birthDate?: Date | null;
  /** What the database must hold after the write. */
  stored: { country: string | null; region: string | null };
  /** consent_state rows, recorded under the regime the stored values give (or `regime`). */
  consents?: { purpose: PurposeKey; action: ConsentAction; regime?: Regime }[];
}

const FIXTURES: Fixture[] = [
  {
    name: 'us-ca-lead-space',
    country: ' us',
    region: 'ca',
    stored: { country: 'US', region: 'CA' },
    consents: [{ purpose: 'marketing', action: 'OPT_OUT' }],
  },
  {
    name: 'us-ca-mixed-case',
    country: 'Us',
    region: ' Ca ',
    stored: { country: 'US', region: 'CA' },
    consents: [
      { purpose: 'analytics', action: 'OPT_OUT' },
      { purpose: 'marketing', action: 'GRANT', regime: 'GDPR' },
    ],
  },
  {
    name: 'us-region-lower-opted-out',
    country: 'US',
    region: 'ca',
    stored: { country: 'US', region: 'CA' },
    consents: [{ purpose: 'marketing', action: 'OPT_OUT' }],
  },
  {
    name: 'us-ca-minor',
    country: 'us',
    region: 'ca',
    birthDate: minorBirthDate,
    stored: { country: 'US', region: 'CA' },
    consents: [{ purpose: 'ad_sharing', action: 'GRANT' }],
  },
  { name: 'us-ca-minor-no-optin', country: 'US ', region: 'CA', birthDate: minorBirthDate, stored: { country: 'US', region: 'CA' } },
  {
    name: 'us-empty-region',
    country: 'us',
    region: '',
    stored: { country: 'US', region: null },
    consents: [{ purpose: 'analytics', action: 'GRANT' }],
  },
  { name: 'us-blank-region', country: 'US', region: '  ', stored: { country: 'US', region: null } },
  { name: 'us-null-region', country: 'us', region: null, stored: { country: 'US', region: null } },
  {
    name: 'us-tx',
    country: 'us ',
    region: 'tx',
    stored: { country: 'US', region: 'TX' },
    consents: [{ purpose: 'personalization', action: 'OPT_OUT' }],
  },
  { name: 'us-va-adult', country: ' US ', region: 'va ', birthDate: adultBirthDate, stored: { country: 'US', region: 'VA' } },
  // Whitespace that JavaScript's trim() removes and btrim()'s default does not: a CSV line end, tabs, NBSP, ideographic space.
  {
    name: 'us-ca-crlf',
    country: '\tus\r\n',
    region: 'ca\r',
    stored: { country: 'US', region: 'CA' },
    consents: [{ purpose: 'ad_sharing', action: 'OPT_OUT' }],
  },
  { name: 'us-ideographic-space-region', country: 'US', region: '\u3000', stored: { country: 'US', region: null } },
  {
    name: 'fr-nbsp',
    country: '\u00a0fr\u00a0',
    region: null,
    stored: { country: 'FR', region: null },
    consents: [{ purpose: 'analytics', action: 'GRANT' }],
  },
  {
    name: 'de-trailing-space',
    country: 'de ',
    region: 'Berlin',
    stored: { country: 'DE', region: 'BERLIN' },
    consents: [
      { purpose: 'marketing', action: 'GRANT' },
      { purpose: 'ai_training', action: 'GRANT' },
    ],
  },
  { name: 'gb-lower', country: 'gb', region: ' ', stored: { country: 'GB', region: null } },
  {
    name: 'empty-country-ca',
    country: '',
    region: 'ca',
    stored: { country: null, region: 'CA' },
    consents: [{ purpose: 'marketing', action: 'GRANT' }],
  },
  { name: 'blank-country', country: ' ', region: null, stored: { country: null, region: null } },
  { name: 'null-country', country: null, region: null, stored: { country: null, region: null } },
  {
    name: 'jp-lower',
    country: 'jp',
    region: 'tokyo',
    stored: { country: 'JP', region: 'TOKYO' },
    consents: [{ purpose: 'analytics', action: 'GRANT' }],
  },
  { name: 'ca-the-country', country: 'ca', region: 'qc', stored: { country: 'CA', region: 'QC' } },
];

/** Rows written first in normal form, then updated with an unnormalised value. */
const UPDATES: { name: string; set: string; value: string; stored: { country: string | null; region: string | null } }[] = [
  { name: 'update-region-to-ca', set: 'region', value: ' ca ', stored: { country: 'US', region: 'CA' } },
  { name: 'update-region-to-blank', set: 'region', value: ' ', stored: { country: 'US', region: null } },
  { name: 'update-country-to-de', set: 'country', value: ' de', stored: { country: 'DE', region: 'VA' } },
];

let app: TestApp;
const prefix = `TEST-JURIS-${randomUUID()}-`;
/** Customer id by fixture name. */
const ids = new Map<string, string>();

type Exec = (sql: string, ...params: unknown[]) => Promise<unknown>;

/** Plain SQL inserts, as a CRM sync would send them: no Prisma, no normalising in JS. */
async function insertFixtures(exec: Exec, idPrefix: string, fixtures: readonly Fixture[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of fixtures) {
    const id = randomUUID();
    out.set(f.name, id);
    await exec(
      `INSERT INTO "customer" ("id", "external_id", "email", "first_name", "last_name", "country", "region", "birth_date")
       VALUES ($1::uuid, $2, $3, 'Jurisdiction', 'Test', $4, $5, $6::date)`,
      id,
      `${idPrefix}${f.name}`,
      `${idPrefix}${f.name}@consentql.test`.toLowerCase(),
      f.country,
      f.region,
      ymd(f.birthDate ?? null),
    );
    for (const c of f.consents ?? []) {
      const regime = c.regime ?? regimeOf(f.stored.country, f.stored.region);
      const version = PURPOSES.find((p) => p.key === c.purpose)!.version;
      await exec(
        `INSERT INTO "consent_state" ("customer_id", "purpose_key", "regime", "sensitive", "action", "purpose_version", "expires_at", "source", "last_event_id", "updated_at")
         VALUES ($1::uuid, $2, $3::"Regime", false, $4::"ConsentAction", $5::int, NULL, 'API', 0, now())`,
        id,
        c.purpose,
        regime,
        c.action,
        version,
      );
    }
  }
  return out;
}

interface Agreement {
  checked: number;
  allowed: number;
  excluded: number;
  disagreements: string[];
  regimes: Set<Regime>;
}

/**
 * Feeds each customer of `customerIds` through both forms of the policy, for
 * every purpose and deployment mode: the SQL filter must match a row exactly
 * when permits() allows it.
 */
async function agreement(db: Prisma.TransactionClient, customerIds: Map<string, string>): Promise<Agreement> {
  const all = [...customerIds.values()];
  const nameOf = new Map([...customerIds].map(([name, id]) => [id, name]));
  const rows = await db.customer.findMany({
    where: { id: { in: all } },
    select: {
      id: true,
      country: true,
      region: true,
      birthDate: true,
      consentStates: { select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true } },
    },
  });
  expect(rows).toHaveLength(all.length);
  const result: Agreement = { checked: 0, allowed: 0, excluded: 0, disagreements: [], regimes: new Set() };
  for (const mode of MODES) {
    for (const purpose of PURPOSES) {
      const matched = await db.customer.findMany({
        where: { AND: [permittedWhere(purpose, mode, now), { id: { in: all } }] },
        select: { id: true },
      });
      const inSql = new Set(matched.map((r) => r.id));
      for (const row of rows) {
        const regime = regimeOf(row.country, row.region, mode);
        if (mode === 'per-jurisdiction') result.regimes.add(regime);
        const decision = permits(purpose, { regime, minor: isMinor(row.birthDate, now), consents: row.consentStates }, false, now);
        const inCode = decision.effect === 'allow';
        result.checked++;
        if (inCode) result.allowed++;
        else result.excluded++;
        if (inCode !== inSql.has(row.id)) {
          result.disagreements.push(
            `${nameOf.get(row.id)} (${JSON.stringify(row.country)}/${JSON.stringify(row.region)}, ${mode}, ${purpose.key}): ` +
              `code says ${decision.effect} (${regime}, ${decision.reason}), SQL ${inSql.has(row.id) ? 'matches' : 'does not match'}`,
          );
        }
      }
    }
  }
  return result;
}

beforeAll(async () => {
  app = await createTestApp();
  const exec: Exec = (sql, ...params) => app.db.pool.query(sql, params);
  for (const [name, id] of await insertFixtures(exec, prefix, FIXTURES)) ids.set(name, id);
  // Updates: start from a normalised US/VA row, then write an unnormalised value.
  for (const u of UPDATES) {
    const id = randomUUID();
    ids.set(u.name, id);
    await app.db.pool.query(
      `INSERT INTO "customer" ("id", "external_id", "email", "first_name", "last_name", "country", "region")
       VALUES ($1, $2, $3, 'Jurisdiction', 'Test', 'US', 'VA')`,
      [id, `${prefix}${u.name}`, `${prefix}${u.name}@consentql.test`.toLowerCase()],
    );
    await app.db.pool.query(`UPDATE "customer" SET "${u.set}" = $2 WHERE "id" = $1`, [id, u.value]);
  }
  // Prisma is a writer like any other.
  const viaPrisma = await app.db.prisma.customer.create({
    data: {
      externalId: `${prefix}prisma`,
      email: `${prefix}prisma@consentql.test`.toLowerCase(),
      firstName: 'Jurisdiction',
      lastName: 'Test',
      country: ' us',
      region: 'ca ',
    },
    select: { id: true },
  });
  ids.set('prisma', viaPrisma.id);
});

afterAll(async () => {
  if (app) {
    // consent_state rows go with their customer (ON DELETE CASCADE).
    await app.db.pool.query(`DELETE FROM "customer" WHERE "external_id" LIKE $1`, [`${prefix}%`]);
    await app.close();
  }
});

describe('jurisdiction data in the database', () => {
  it('is stored trimmed, upper case, and NULL rather than empty, whoever writes it', async () => {
    const { rows } = await app.db.pool.query<{ id: string; country: string | null; region: string | null }>(
      `SELECT "id", "country", "region" FROM "customer" WHERE "external_id" LIKE $1`,
      [`${prefix}%`],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const expected = [
      ...FIXTURES.map((f) => [f.name, f.stored] as const),
      ...UPDATES.map((u) => [u.name, u.stored] as const),
      ['prisma', { country: 'US', region: 'CA' }] as const,
    ];
    expect(rows).toHaveLength(expected.length);
    for (const [name, stored] of expected) {
      const row = byId.get(ids.get(name)!);
      expect({ country: row?.country, region: row?.region }, name).toEqual(stored);
    }
    // Normalising never changes what the code decides: the regime of what was
    // written is the regime of what is stored.
    for (const f of FIXTURES) {
      for (const mode of MODES) {
        expect(regimeOf(f.stored.country, f.stored.region, mode), f.name).toBe(regimeOf(f.country, f.region, mode));
      }
    }
  });

  it('gives the SQL filter and the policy engine the same answer for every row, purpose and mode', async () => {
    const result = await agreement(app.db.prisma, ids);
    expect(result.disagreements).toEqual([]);
    expect(result.checked).toBe(ids.size * PURPOSES.length * MODES.length);
    // Both outcomes occur, and every regime is represented.
    expect(result.allowed).toBeGreaterThan(0);
    expect(result.excluded).toBeGreaterThan(0);
    expect([...result.regimes].sort()).toEqual([...REGIMES].sort());
  });

  it('rejects an unnormalised value written past the trigger (CHECK constraints)', async () => {
    const client = await app.db.pool.connect();
    const attempt = async (country: string | null, region: string | null) => {
      await client.query('SAVEPOINT attempt');
      try {
        await client.query(
          `INSERT INTO "customer" ("id", "external_id", "email", "first_name", "last_name", "country", "region")
           VALUES ($1, $2, $3, 'Jurisdiction', 'Test', $4, $5)`,
          [randomUUID(), `${prefix}bypass`, `${prefix}bypass@consentql.test`.toLowerCase(), country, region],
        );
        return null;
      } catch (err) {
        return err as { code?: string; constraint?: string };
      } finally {
        await client.query('ROLLBACK TO SAVEPOINT attempt');
      }
    };
    try {
      await client.query('BEGIN');
      await client.query(`ALTER TABLE "customer" DISABLE TRIGGER "${TRIGGER}"`);
      expect(await attempt('US', 'ca')).toMatchObject({ code: '23514', constraint: 'customer_region_normalised' });
      expect(await attempt('US', ' CA')).toMatchObject({ code: '23514', constraint: 'customer_region_normalised' });
      expect(await attempt('US', '')).toMatchObject({ code: '23514', constraint: 'customer_region_normalised' });
      expect(await attempt('US', 'CA\r')).toMatchObject({ code: '23514', constraint: 'customer_region_normalised' });
      expect(await attempt('us', 'CA')).toMatchObject({ code: '23514', constraint: 'customer_country_normalised' });
      expect(await attempt(' ', null)).toMatchObject({ code: '23514', constraint: 'customer_country_normalised' });
      // The normal form itself still goes in.
      expect(await attempt('US', 'CA')).toBeNull();
      expect(await attempt(null, null)).toBeNull();
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    const { rows } = await app.db.pool.query(`SELECT tgenabled FROM pg_trigger WHERE tgname = $1`, [TRIGGER]);
    expect(rows).toEqual([{ tgenabled: 'O' }]);
  });

  it('(negative control) without the normalisation, the same writes make the two forms disagree', async () => {
    // Everything here is rolled back: the trigger and the constraints are
    // dropped only inside this transaction, on its one connection.
    const rollback = new Error('rollback');
    let raw: Agreement | undefined;
    await app.db.prisma
      .$transaction(
        async (tx) => {
          await tx.$executeRawUnsafe(`ALTER TABLE "customer" DISABLE TRIGGER "${TRIGGER}"`);
          await tx.$executeRawUnsafe(
            `ALTER TABLE "customer" DROP CONSTRAINT "customer_country_normalised", DROP CONSTRAINT "customer_region_normalised"`,
          );
          const exec: Exec = (sql, ...params) => tx.$executeRawUnsafe(sql, ...params);
          const rawIds = await insertFixtures(exec, `${prefix}raw-`, FIXTURES);
          const stored = await tx.customer.findMany({ where: { id: { in: [...rawIds.values()] } }, select: { country: true } });
          expect(stored.map((r) => r.country)).toContain(' us');
          raw = await agreement(tx, rawIds);
          throw rollback;
        },
        { timeout: 60_000, maxWait: 30_000 },
      )
      .catch((err: unknown) => {
        if (err !== rollback) throw err;
      });
    const disagree = (name: string, purpose: string) =>
      raw!.disagreements.some((d) => d.startsWith(`${name} `) && d.includes(`per-jurisdiction, ${purpose})`));
    // 'US'/'ca': CCPA in code, which sees the CCPA opt-out; US_STATE in SQL, where it does not count.
    expect(disagree('us-region-lower-opted-out', 'marketing')).toBe(true);
    // 'Us'/' Ca ': CCPA in code (opt-out basis, allowed); NONE in SQL (opt-in basis, no grant).
    expect(disagree('us-ca-mixed-case', 'marketing')).toBe(true);
    // 'US'/'  ': NONE in code (opt-in, no grant); US_STATE in SQL (opt-out, matched).
    expect(disagree('us-blank-region', 'marketing')).toBe(true);
    // Nothing of it stayed.
    const { rows } = await app.db.pool.query(
      `SELECT (SELECT count(*) FROM "customer" WHERE "external_id" LIKE $1)::int AS raw_rows,
              (SELECT count(*) FROM pg_constraint WHERE conname IN ('customer_country_normalised', 'customer_region_normalised'))::int AS constraints,
              (SELECT tgenabled FROM pg_trigger WHERE tgname = $2) AS trigger`,
      [`${prefix}raw-%`, TRIGGER],
    );
    expect(rows[0]).toEqual({ raw_rows: 0, constraints: 2, trigger: 'O' });
  });
});
