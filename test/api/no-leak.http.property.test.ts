import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLIENTS } from '../../src/db/demo-clients.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { isolatedDatabase } from '../support/scratch.ts';
import {
  HMAC_TOKEN,
  Decimalish,
  Instant,
  TAGS,
  comparator,
  fieldOutcome,
  keysetPage,
  listAllowed,
  maskProblem,
  matchesFilter,
  normaliseJurisdiction,
  purposeOf,
  regimeFor,
  sameValue,
  sensitiveHolds,
  standing,
  type ConsentRow,
  type Mode,
  type OracleFilter,
  type OracleOrder,
  type OraclePurpose,
  type OracleTag,
  type OrderField,
  type StoredCustomer,
} from '../support/http-oracle.ts';

// The no-leak invariant over HTTP, against an independent oracle
// (test/support/http-oracle.ts). Random GraphQL documents (root `customer`
// and `customers`, aliases, inline and named fragments, @include/@skip,
// nested relations, filters, orders, forward and backward keyset pages,
// cursors replayed under another client, purpose or order) go through Yoga's
// real request handling, as random demo clients declaring their purposes.
// Every response is checked against the oracle's view of every customer, read
// by SQL: who may appear at all, each field clear or masked, counts, pages,
// and no trace of a customer without a legal basis anywhere in the body.
//
// NOLEAK_SEED=<n> replays the shape of the data set (jurisdictions, birth
// dates, consent rows, records; ids are fresh), FC_SEED=<n> the documents
// (fast-check prints its seed on failure); NOLEAK_RUNS / NOLEAK_STRICT_RUNS
// set the number of runs.

const NUM_RUNS = Number(process.env.NOLEAK_RUNS ?? 150);
const STRICT_RUNS = Number(process.env.NOLEAK_STRICT_RUNS ?? 30);
const DATA_SEED = Number(process.env.NOLEAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FC_SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const RUN = Math.random().toString(36).slice(2, 8);
const PREFIX = `NOLEAK-${RUN}-`;
const DAY = 86_400_000;
const OWN_CUSTOMERS = 44;

let app: TestApp;
/** The app requests go to, and the regime mode it runs in (the strictest-mode block swaps both). */
let api: TestApp;
let mode: Mode = 'per-jurisdiction';
let customers: StoredCustomer[] = [];
let demo: StoredCustomer[] = [];
let own: StoredCustomer[] = [];
const byId = new Map<string, StoredCustomer>();
/** Per own customer: a marker carried by each of their distinctive text values. */
const markerOf = new Map<string, string>();
/** Values unique across all customers (ids, emails, external ids; phones, names, streets when unique) → owner. */
const uniqueNeedles = new Map<string, string>();

// ---------------------------------------------------------------------------
// Setup data: a deterministic PRNG so that a failing data set can be replayed

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(DATA_SEED);
const chance = (p: number) => rand() < p;
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const sqlTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Raw jurisdictions as a CRM would send them; the database normalises them on write. */
const JURISDICTIONS: readonly [string | null, string | null][] = [
  [' de', null],
  ['us', 'ca'],
  ['US', ''],
  ['US', 'Ca '],
  ['us', ' tx'],
  ['fr ', 'Île-de-France'],
  ['BR', 'SP'],
  ['US', 'NY'],
  [null, null],
  ['GB', null],
  ['', ''],
  ['\tUS', 'co\n'],
  ['ch', 'zh'],
  ['US', null],
  ['JP', null],
  ['no', ' oslo'],
  ['  ', 'ca'],
  ['DE', 'Berlin'],
  ['US', 'CA'],
  ['us', 'wa'],
];
const OWN_REGIMES = ['GDPR', 'CCPA', 'US_STATE', 'NONE'] as const;
const CONSENT_PURPOSES = ['marketing', 'analytics', 'personalization', 'ai_training', 'ad_sharing'];

interface OwnPlan {
  id: string;
  rawCountry: string | null;
  rawRegion: string | null;
}
const ownPlans: OwnPlan[] = [];

async function insertOwnCustomers(now: Date) {
  const pool = app.db.pool;
  const demoNames = (await pool.query<{ last_name: string }>('SELECT DISTINCT last_name FROM customer ORDER BY 1 LIMIT 40')).rows.map(
    (r) => r.last_name,
  );
  const sharedCreated = now.getTime() - int(100, 900) * DAY;
  for (let i = 0; i < OWN_CUSTOMERS; i++) {
    const id = randomUUID();
    const marker = `nlk${RUN}c${i}x`;
    const [rawCountry, rawRegion] = i < JURISDICTIONS.length ? JURISDICTIONS[i] : pick(JURISDICTIONS);
    ownPlans.push({ id, rawCountry, rawRegion });
    markerOf.set(id, marker);
    const minor = chance(0.3);
    const birth = chance(0.1)
      ? null
      : isoDate(
          Date.UTC(now.getUTCFullYear() - (minor ? int(2, 15) : int(17, 85)), now.getUTCMonth(), now.getUTCDate()) - int(5, 355) * DAY,
        );
    const lastName = chance(0.2) ? pick(demoNames) : i % 9 === 4 ? `Twin${marker.slice(0, -3)}` : `Zed${marker}`;
    const location = chance(0.6) ? `${(rand() * 120 - 60).toFixed(4)},${(rand() * 340 - 170).toFixed(4)}` : null;
    await pool.query(
      `INSERT INTO customer (id, external_id, email, phone, first_name, last_name, birth_date, street, city, postal_code,
         region, country, preferred_language, segment, lifetime_value, churn_score, risk_band, health_interests,
         precise_location, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9, $10, $11, $12, $13, $14, $15::numeric, $16, $17, $18::text[], $19,
         $20::timestamp, $20::timestamp)`,
      [
        id,
        `${PREFIX}${marker}`,
        `${marker}@noleak.example`,
        chance(0.85) ? `+1 (555) ${int(100, 999)}-${String(int(0, 9999)).padStart(4, '0')}` : null,
        `Ann${marker}`,
        lastName,
        birth,
        chance(0.8) ? `${int(1, 999)} ${marker} Street` : null,
        chance(0.8) ? pick(['Berlin', 'Austin', 'Fresno', 'Lyon', 'Zürich']) : null,
        chance(0.85) ? pick([String(int(10000, 99999)), 'SW1A 1AA', '9']) : null,
        rawRegion,
        rawCountry,
        chance(0.7) ? pick(['de', 'en', 'fr']) : null,
        chance(0.9) ? pick(['vip', 'loyal', 'dormant', 'at_risk', 'new', `noleak_${RUN}`]) : null,
        chance(0.2) ? '100.00' : (rand() * 5000).toFixed(2),
        chance(0.25) ? null : chance(0.2) ? 0.5 : Math.round(rand() * 10000) / 10000,
        chance(0.9) ? pick(['low', 'medium', 'high']) : null,
        chance(0.5) ? [] : [pick(['diabetes care', 'pregnancy', 'migraine']), `${marker} interest`],
        location,
        sqlTime(chance(0.2) ? sharedCreated : now.getTime() - int(1, 2500) * DAY - int(0, DAY)),
      ],
    );
  }
  // Read back what the database stored (it normalises the jurisdiction), then write consent for that regime.
  const stored = await pool.query<{ id: string; country: string | null; region: string | null }>(
    'SELECT id::text, country, region FROM customer WHERE external_id LIKE $1',
    [`${PREFIX}%`],
  );
  const storedRegime = new Map(stored.rows.map((r) => [r.id, regimeFor(r.country, r.region)]));
  for (const plan of ownPlans) {
    const regime = storedRegime.get(plan.id)!;
    const marker = markerOf.get(plan.id)!;
    const rows: [string, string, boolean, string, number, number | null][] = [];
    const scopes = new Set<string>();
    const add = (purpose: string, reg: string, sensitive: boolean, action: string, version: number, expires: number | null) => {
      const key = `${purpose}|${reg}|${sensitive}`;
      if (scopes.has(key)) return;
      scopes.add(key);
      rows.push([purpose, reg, sensitive, action, version, expires]);
    };
    const other = () => pick(OWN_REGIMES.filter((r) => r !== regime));
    const future = () => (chance(0.5) ? null : now.getTime() + int(5, 400) * DAY);
    const past = () => now.getTime() - int(2, 400) * DAY;
    for (const purpose of CONSENT_PURPOSES) {
      const r = rand();
      const granted = r >= 0.2 && r < 0.48;
      if (r < 0.2) {
        // no record
      } else if (granted) add(purpose, regime, false, pick(['GRANT', 'GRANT', 'OPT_IN']), 1, future());
      else if (r < 0.56) add(purpose, regime, false, 'GRANT', pick([0, 2]), future());
      else if (r < 0.64) add(purpose, regime, false, pick(['GRANT', 'OPT_IN']), 1, past());
      else if (r < 0.76) add(purpose, regime, false, 'WITHDRAW', 1, null);
      else if (r < 0.88) add(purpose, regime, false, 'OPT_OUT', 1, null);
      else add(purpose, other(), false, 'GRANT', 1, null);
      if (chance(0.12)) add(purpose, other(), false, pick(['GRANT', 'WITHDRAW', 'OPT_OUT']), 1, null);
      // Biased towards a sensitive grant where the ordinary one holds, so that both sensitive outcomes are reached.
      if (chance(granted ? 0.75 : 0.35)) {
        const s = granted && chance(0.5) ? 0 : rand();
        const reg = chance(0.85) ? regime : other();
        if (s < 0.45) add(purpose, reg, true, pick(['GRANT', 'OPT_IN']), 1, future());
        else if (s < 0.55) add(purpose, reg, true, 'GRANT', 1, past());
        else if (s < 0.65) add(purpose, reg, true, 'GRANT', 2, null);
        else if (s < 0.82) add(purpose, reg, true, 'WITHDRAW', 1, null);
        else add(purpose, reg, true, 'OPT_OUT', 1, null);
      }
    }
    // Contract purposes need no consent: a withdrawal there must change nothing.
    if (chance(0.15)) add(pick(['support', 'transactional']), regime, false, pick(['WITHDRAW', 'OPT_OUT']), 1, null);
    for (const [purpose, reg, sensitive, action, version, expires] of rows) {
      await pool.query(
        `INSERT INTO consent_state (customer_id, purpose_key, regime, sensitive, action, purpose_version, expires_at, source, last_event_id, updated_at)
         VALUES ($1, $2, $3::"Regime", $4, $5::"ConsentAction", $6, $7::timestamp, 'CRM', 0, now())`,
        [plan.id, purpose, reg, sensitive, action, version, expires === null ? null : sqlTime(expires)],
      );
    }
    // Records for some: orders with items, tickets with messages, interactions, web events.
    const t = (lo: number, hi: number) => sqlTime(now.getTime() - int(lo, hi) * DAY - int(0, DAY));
    if (chance(0.45)) {
      for (let j = 0; j < int(1, 3); j++) {
        const orderId = randomUUID();
        await pool.query(
          `INSERT INTO "order" (id, customer_id, number, status, currency, total, placed_at) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::timestamp)`,
          [
            orderId,
            plan.id,
            `SO-${marker}-${j}`,
            pick(['delivered', 'shipped', 'returned']),
            pick(['EUR', 'USD']),
            (rand() * 300).toFixed(2),
            t(1, 700),
          ],
        );
        for (let k = 0; k < int(1, 3); k++) {
          await pool.query(
            `INSERT INTO order_item (id, order_id, customer_id, sku, name, quantity, unit_price) VALUES ($1, $2, $3, $4, $5, $6, $7::numeric)`,
            [randomUUID(), orderId, plan.id, `SKU-${k}-${marker}`, `Thing ${k} ${marker}`, int(1, 3), (rand() * 90).toFixed(2)],
          );
        }
      }
    }
    if (chance(0.35)) {
      for (let j = 0; j < int(1, 2); j++) {
        const ticketId = randomUUID();
        const opened = now.getTime() - int(3, 600) * DAY;
        await pool.query(
          `INSERT INTO support_ticket (id, customer_id, subject, status, channel, opened_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6::timestamp, $7::timestamp)`,
          [
            ticketId,
            plan.id,
            `Parcel ${marker} ${j}`,
            pick(['open', 'closed']),
            pick(['email', 'chat']),
            sqlTime(opened),
            chance(0.5) ? sqlTime(opened + DAY) : null,
          ],
        );
        for (let k = 0; k < int(1, 3); k++) {
          await pool.query(
            `INSERT INTO ticket_message (id, ticket_id, customer_id, author, body, sent_at) VALUES ($1, $2, $3, $4, $5, $6::timestamp)`,
            [
              randomUUID(),
              ticketId,
              plan.id,
              k % 2 ? 'agent' : 'customer',
              `Where is my parcel ${marker} ${k}?`,
              sqlTime(opened + k * 3_600_000),
            ],
          );
        }
      }
    }
    if (chance(0.3)) {
      for (let j = 0; j < int(1, 3); j++) {
        await pool.query(
          `INSERT INTO marketing_interaction (id, customer_id, campaign, kind, occurred_at) VALUES ($1, $2, $3, $4, $5::timestamp)`,
          [randomUUID(), plan.id, `spring-${marker}`, pick(['sent', 'opened', 'clicked']), t(1, 300)],
        );
      }
    }
    if (chance(0.3)) {
      for (let j = 0; j < int(1, 3); j++) {
        await pool.query(
          `INSERT INTO web_event (id, customer_id, kind, path, device, occurred_at) VALUES ($1, $2, $3, $4, $5, $6::timestamp)`,
          [randomUUID(), plan.id, pick(['page_view', 'add_to_cart']), `/p/${marker}/${j}`, chance(0.7) ? 'mobile' : null, t(1, 300)],
        );
      }
    }
  }
}

const ISO_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The oracle's view of every customer, read by SQL. */
async function loadAllCustomers(): Promise<StoredCustomer[]> {
  const pool = app.db.pool;
  const rows = await pool.query(
    `SELECT id::text, external_id, email, phone, first_name, last_name, to_char(birth_date, 'YYYY-MM-DD') AS birth_date,
            street, city, postal_code, region, country, preferred_language, segment, lifetime_value::text AS lifetime_value,
            churn_score, risk_band, health_interests, precise_location, to_char(created_at, ${ISO_MS}) AS created_at,
            dense_rank() OVER (ORDER BY last_name) AS last_name_rank
       FROM customer`,
  );
  const consents = await pool.query(
    `SELECT customer_id::text, purpose_key, regime::text, sensitive, action::text, purpose_version,
            (extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms
       FROM consent_state`,
  );
  const byCustomer = new Map<string, ConsentRow[]>();
  for (const r of consents.rows) {
    const list = byCustomer.get(r.customer_id) ?? [];
    list.push({
      purposeKey: r.purpose_key,
      regime: r.regime,
      sensitive: r.sensitive,
      action: r.action,
      purposeVersion: r.purpose_version,
      expiresAt: r.expires_ms === null ? null : Number(r.expires_ms),
    });
    byCustomer.set(r.customer_id, list);
  }
  return rows.rows.map((r) => ({
    id: r.id,
    externalId: r.external_id,
    email: r.email,
    phone: r.phone,
    firstName: r.first_name,
    lastName: r.last_name,
    birthDate: r.birth_date,
    street: r.street,
    city: r.city,
    postalCode: r.postal_code,
    region: r.region,
    country: r.country,
    preferredLanguage: r.preferred_language,
    segment: r.segment,
    lifetimeValue: r.lifetime_value,
    churnScore: r.churn_score === null ? null : Number(r.churn_score),
    riskBand: r.risk_band,
    healthInterests: r.health_interests ?? [],
    preciseLocation: r.precise_location,
    createdAt: r.created_at,
    lastNameRank: Number(r.last_name_rank),
    consents: byCustomer.get(r.id) ?? [],
  }));
}

// ---------------------------------------------------------------------------
// Who asks: the demo clients and the purposes each is registered for

interface Actor {
  client: string;
  purpose: string;
  explain: boolean;
}
const CONSUMERS: Actor[] = DEMO_CLIENTS.filter((c) => c.role === 'CONSUMER').flatMap((c) =>
  c.allowedPurposes.map((p) => ({ client: c.name, purpose: p as string, explain: false })),
);
const ADMIN = DEMO_CLIENTS.find((c) => c.role === 'ADMIN')!;
const ADMINS: Actor[] = ADMIN.allowedPurposes.flatMap((p) => [
  { client: ADMIN.name, purpose: p as string, explain: false },
  { client: ADMIN.name, purpose: p as string, explain: true },
]);
const ACTORS: Actor[] = [...CONSUMERS, ...CONSUMERS, ...ADMINS];

// ---------------------------------------------------------------------------
// Documents: a small model of the selection, rendered to GraphQL text

interface Cond {
  dir: 'include' | 'skip';
  value: boolean;
  viaVariable: boolean;
}
interface FieldItem {
  t: 'field';
  field: string;
  alias: string | null;
  cond: Cond | null;
  first: number | null;
  sub: Item[];
}
interface FragItem {
  t: 'inline' | 'named';
  cond: Cond | null;
  items: Item[];
}
type Item = FieldItem | FragItem;

interface Target {
  pool: 'own' | 'demo' | 'missing' | 'excluded' | 'permitted' | 'consented' | 'limited';
  /** For aimed look-ups: the regime aimed at (tried first). */
  regime: number;
  n: number;
}
interface OneRoot {
  kind: 'one';
  alias: string | null;
  cond: Cond | null;
  target: Target;
  viaVariable: boolean;
  items: Item[];
}
interface OrderArg {
  field: OrderField;
  direction: 'ASC' | 'DESC' | null;
}
interface ListRoot {
  kind: 'list';
  alias: string | null;
  cond: Cond | null;
  size: number | null;
  backward: boolean;
  filter: OracleFilter;
  filterViaVariable: boolean;
  order: OrderArg | null;
  total: boolean;
  pageInfo: boolean;
  edgeCursor: boolean;
  items: Item[];
  /** Set for the second request of a chain. */
  cursor?: string;
}
type Root = OneRoot | ListRoot;

interface ChainStep {
  rebind: 'same' | 'purpose' | 'client' | 'order' | 'forged';
  otherActor: number;
  order: OrderArg | null;
  pick: 'end' | 'start' | 'edge';
  edge: number;
  backward: boolean;
  size: number;
  filter: OracleFilter | null;
}
interface Plan {
  actor: number;
  roots: Root[];
  chain: ChainStep | null;
}

const relationType = (type: string, field: string) => {
  const t = TAGS[type][field];
  return typeof t === 'string' ? undefined : t.relation;
};
const scalarFields = (type: string) => Object.keys(TAGS[type]).filter((f) => !relationType(type, f));
const relationFields = (type: string) => Object.keys(TAGS[type]).filter((f) => relationType(type, f));
/** Relations with a `first` argument (the customer's record lists). */
const pagedRelation = (type: string) => type === 'Customer';

const condArb: fc.Arbitrary<Cond | null> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(null) },
  {
    weight: 2,
    arbitrary: fc.record({ dir: fc.constantFrom('include' as const, 'skip' as const), value: fc.boolean(), viaVariable: fc.boolean() }),
  },
);
const aliasArb = fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('a1', 'a2', 'a3', 'a4') });

const itemsArbs = new Map<string, fc.Arbitrary<Item[]>>();
function itemsArb(type: string, depth: number, maxFields: number): fc.Arbitrary<Item[]> {
  const key = `${type}/${depth}/${maxFields}`;
  if (!itemsArbs.has(key)) itemsArbs.set(key, buildItemsArb(type, depth, maxFields));
  return itemsArbs.get(key)!;
}
function buildItemsArb(type: string, depth: number, maxFields: number): fc.Arbitrary<Item[]> {
  // Special-category fields three times as likely: their rules are the subtlest.
  const sensitiveFields = scalarFields(type).filter((f) => (TAGS[type][f] as OracleTag).category === 'sensitive');
  const scalar = fc.record({
    field: fc.constantFrom(...scalarFields(type), ...sensitiveFields, ...sensitiveFields),
    alias: aliasArb,
    cond: condArb,
    box: fc.integer({ min: 0, max: 6 }),
  });
  const relations = depth > 0 ? relationFields(type) : [];
  const relation =
    relations.length === 0
      ? fc.constant([])
      : fc.array(
          fc.constantFrom(...relations).chain((field) =>
            fc.record({
              field: fc.constant(field),
              alias: aliasArb,
              cond: condArb,
              box: fc.integer({ min: 0, max: 6 }),
              first: pagedRelation(type) ? fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }) : fc.constant(null),
              sub: itemsArb(relationType(type, field)!, depth - 1, 5),
            }),
          ),
          { maxLength: 2 },
        );
  return fc
    .record({
      scalars: fc.array(scalar, { minLength: 0, maxLength: maxFields }),
      relations: relation,
      inlineCond: condArb,
      namedCond: condArb,
    })
    .map(({ scalars, relations: rels, inlineCond, namedCond }) => {
      const all = [
        ...scalars.map((s) => ({ ...s, first: null, sub: [] as Item[] })),
        ...(rels as { field: string; alias: string | null; cond: Cond | null; box: number; first: number | null; sub: Item[] }[]),
      ];
      const direct: Item[] = [{ t: 'field', field: 'id', alias: null, cond: null, first: null, sub: [] }];
      const inline: Item[] = [];
      const named: Item[] = [];
      for (const { box, ...f } of all) {
        const item: FieldItem = { t: 'field', ...f };
        (box <= 3 ? direct : box <= 5 ? inline : named).push(item);
      }
      if (inline.length > 0) direct.push({ t: 'inline', cond: inlineCond, items: inline });
      if (named.length > 0) direct.push({ t: 'named', cond: namedCond, items: named });
      return dedupe(direct);
    });
}

const keyOf = (f: FieldItem) => f.alias ?? f.field;

/** One field per response key in each selection set (fragments share their parent's object). */
function dedupe(items: Item[]): Item[] {
  const seen = new Set<string>();
  const walk = (list: Item[]): Item[] =>
    list.flatMap((item): Item[] => {
      if (item.t !== 'field') {
        const inner = walk(item.items);
        return inner.length > 0 ? [{ ...item, items: inner }] : [];
      }
      if (seen.has(keyOf(item))) return [];
      seen.add(keyOf(item));
      return [{ ...item, sub: item.sub.length > 0 ? dedupe(item.sub) : item.sub }];
    });
  return walk(items);
}

const TARGET: fc.Arbitrary<Target> = fc.record({
  pool: fc.constantFrom(
    'own',
    'own',
    'demo',
    'demo',
    'excluded',
    'excluded',
    'excluded',
    'excluded',
    'permitted',
    'consented',
    'consented',
    'limited',
    'limited',
    'missing',
  ) as fc.Arbitrary<Target['pool']>,
  regime: fc.constantFrom(0, 1, 2, 3),
  n: fc.noBias(fc.nat()),
});

const FILTER: fc.Arbitrary<OracleFilter> = fc
  .record(
    {
      country: fc.constantFrom('DE', ' de', 'FR', 'US', 'us ', 'GB', 'BR', 'JP', 'CH', 'XX'),
      region: fc.constantFrom('CA', 'ca ', 'TX', 'NY', 'CO', 'BAVARIA', ''),
      segment: fc.constantFrom('vip', 'loyal', 'dormant', 'at_risk', 'new', `noleak_${RUN}`),
      riskBand: fc.constantFrom('low', 'medium', 'high'),
    },
    { requiredKeys: [] },
  )
  .filter((f) => Object.keys(f).length <= 2);

const ORDER: fc.Arbitrary<OrderArg | null> = fc.option(
  fc.record({
    field: fc.constantFrom<OrderField>('CREATED_AT', 'LIFETIME_VALUE', 'CHURN_SCORE', 'LAST_NAME'),
    direction: fc.constantFrom<'ASC' | 'DESC' | null>('ASC', 'DESC', null),
  }),
  { freq: 3, nil: null },
);

const SIZE = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 3, arbitrary: fc.integer({ min: 9, max: 50 }) },
);

const rootCond = fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: condArb });

const ONE: fc.Arbitrary<OneRoot> = fc
  .record({
    kind: fc.constant('one' as const),
    alias: fc.constant(null),
    cond: rootCond,
    target: TARGET,
    viaVariable: fc.boolean(),
    items: itemsArb('Customer', 2, 9),
  })
  .map((root) =>
    // A look-up aimed at sensitive consent asks for the special-category fields.
    root.target.pool === 'consented' || root.target.pool === 'limited'
      ? {
          ...root,
          items: dedupe([
            ...root.items,
            ...['healthInterests', 'preciseLocation'].map(
              (field): Item => ({ t: 'field', field, alias: null, cond: null, first: null, sub: [] }),
            ),
          ]),
        }
      : root,
  );

const LIST: fc.Arbitrary<ListRoot> = fc.record({
  kind: fc.constant('list' as const),
  alias: fc.constant(null),
  cond: rootCond,
  size: SIZE,
  backward: fc.boolean(),
  filter: fc.oneof({ weight: 1, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: FILTER }),
  filterViaVariable: fc.boolean(),
  order: ORDER,
  total: fc.boolean(),
  pageInfo: fc.boolean(),
  edgeCursor: fc.boolean(),
  items: itemsArb('Customer', 2, 7),
});

const CHAIN: fc.Arbitrary<ChainStep> = fc.record({
  rebind: fc.constantFrom('same', 'same', 'same', 'same', 'purpose', 'client', 'order', 'forged') as fc.Arbitrary<ChainStep['rebind']>,
  otherActor: fc.noBias(fc.nat()),
  order: ORDER,
  pick: fc.constantFrom('end', 'start', 'edge') as fc.Arbitrary<ChainStep['pick']>,
  edge: fc.noBias(fc.nat()),
  backward: fc.boolean(),
  size: fc.integer({ min: 1, max: 30 }),
  filter: fc.option(fc.oneof(fc.constant({}), FILTER), { freq: 2, nil: null }),
});

const PLAN: fc.Arbitrary<Plan> = fc
  .record({
    actor: fc.noBias(fc.nat({ max: ACTORS.length - 1 })),
    roots: fc.array(fc.oneof({ weight: 3, arbitrary: ONE }, { weight: 2, arbitrary: LIST }), { minLength: 1, maxLength: 4 }),
    chain: fc.option(CHAIN, { freq: 2, nil: null }),
    chainRoot: LIST,
  })
  .map(({ actor, roots: generated, chain, chainRoot }) => {
    // The chain follows the first root: a list that hands out cursors.
    const first: Root[] = chain
      ? [{ ...chainRoot, cond: null, pageInfo: true, size: chainRoot.size === 0 || chainRoot.size === null ? 3 : chainRoot.size }]
      : [];
    const roots = [...first, ...generated]
      .slice(0, 4)
      // `last` without a size is no `last` at all: the page is a forward one.
      .map((r, i) => ({ ...r, alias: i === 0 ? null : `r${i}`, ...(r.kind === 'list' && r.size === null ? { backward: false } : {}) }));
    return { actor, roots, chain };
  });

interface Rendered {
  text: string;
  variables: Record<string, unknown>;
}

/** Renders roots to one query; literal and variable forms are both used. */
function render(roots: Root[], purposeKey: string): Rendered {
  const variables: Record<string, unknown> = {};
  const declarations: string[] = [];
  const fragments: string[] = [];
  let n = 0;
  const variable = (type: string, value: unknown) => {
    const name = `v${n++}`;
    declarations.push(`$${name}: ${type}`);
    variables[name] = value;
    return `$${name}`;
  };
  const directive = (cond: Cond | null) =>
    cond ? ` @${cond.dir}(if: ${cond.viaVariable ? variable('Boolean!', cond.value) : String(cond.value)})` : '';
  const items = (type: string, list: Item[]): string =>
    list
      .map((item) => {
        if (item.t === 'inline') return `... on ${type}${directive(item.cond)} { ${items(type, item.items)} }`;
        if (item.t === 'named') {
          const name = `F${fragments.length}`;
          fragments.push('');
          const index = fragments.length - 1;
          fragments[index] = `fragment ${name} on ${type} { ${items(type, item.items)} }`;
          return `...${name}${directive(item.cond)}`;
        }
        const f = item as FieldItem;
        const rel = relationType(type, f.field);
        const args = f.first !== null ? `(first: ${f.first})` : '';
        const head = `${f.alias ? `${f.alias}: ` : ''}${f.field}${args}${directive(f.cond)}`;
        return rel ? `${head} { ${items(rel, f.sub)} }` : head;
      })
      .join(' ');
  const body = roots
    .map((root) => {
      const alias = root.alias ? `${root.alias}: ` : '';
      if (root.kind === 'one') {
        const id = targetId(root.target, purposeKey);
        const arg = root.viaVariable ? variable('ID!', id) : JSON.stringify(id);
        return `${alias}customer(id: ${arg})${directive(root.cond)} { ${items('Customer', root.items)} }`;
      }
      const args: string[] = [];
      if (root.size !== null) args.push(`${root.backward ? 'last' : 'first'}: ${root.size}`);
      if (root.cursor !== undefined) args.push(`${root.backward ? 'before' : 'after'}: ${JSON.stringify(root.cursor)}`);
      if (Object.keys(root.filter).length > 0) {
        args.push(
          `filter: ${
            root.filterViaVariable
              ? variable('CustomerFilter', root.filter)
              : `{ ${Object.entries(root.filter)
                  .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
                  .join(', ')} }`
          }`,
        );
      }
      if (root.order)
        args.push(`orderBy: { field: ${root.order.field}${root.order.direction ? `, direction: ${root.order.direction}` : ''} }`);
      const selection = [
        root.total ? 'totalCount' : '',
        root.pageInfo ? 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }' : '',
        `edges { ${root.edgeCursor ? 'cursor ' : ''}node { ${items('Customer', root.items)} } }`,
      ].join(' ');
      return `${alias}customers${args.length > 0 ? `(${args.join(', ')})` : ''}${directive(root.cond)} { ${selection} }`;
    })
    .join('\n  ');
  const head = declarations.length > 0 ? `query NoLeak(${declarations.join(', ')})` : 'query NoLeak';
  return { text: `${head} {\n  ${body}\n}\n${fragments.join('\n')}`, variables };
}

/** Keeps a document within the API's bounds (aliases, directives): drops extras rather than be refused. */
function withinBounds(roots: Root[]): Root[] {
  let aliases = roots.filter((r) => r.alias).length;
  let directives = roots.filter((r) => r.cond).length;
  const trim = (list: Item[]): Item[] =>
    list.map((item) => {
      let cond = item.cond;
      if (cond && ++directives > 18) cond = null;
      if (item.t !== 'field') return { ...item, cond, items: trim(item.items) };
      let alias = item.alias;
      if (alias && ++aliases > 12) alias = null;
      return { ...item, cond, alias, sub: trim(item.sub) };
    });
  return roots.map((r) => withinDepth({ ...r, items: dedupe(trim(r.items)) }));
}

/** Depth as GraphQL Armor counts it, conservatively: a field or an inline fragment one level, a spread two. */
function depthOf(list: Item[]): number {
  return list.reduce((d, item) => {
    if (item.t === 'field') return Math.max(d, 1 + (item.sub.length > 0 ? depthOf(item.sub) : 0));
    return Math.max(d, (item.t === 'named' ? 2 : 1) + depthOf(item.items));
  }, 0);
}

/** Fragments below the top level of a selection turned into plain fields (their conditions onto each field). */
function flattenBelow(list: Item[], level: number): Item[] {
  return list.flatMap((item): Item[] => {
    if (item.t === 'field') return [{ ...item, sub: flattenBelow(item.sub, level + 1) }];
    if (level === 0) return [{ ...item, items: flattenBelow(item.items, level) }];
    // A fragment's condition and its fields' conditions both apply: keep the fields only when the fragment passes.
    return passes(item.cond) ? flattenBelow(item.items, level) : [];
  });
}

const MAX_DEPTH = 8;
function withinDepth(root: Root): Root {
  const above = root.kind === 'list' ? 3 : 1;
  if (above + depthOf(root.items) <= MAX_DEPTH) return root;
  const flat = flattenBelow(root.items, 0);
  if (above + depthOf(flat) <= MAX_DEPTH) return { ...root, items: flat };
  return {
    ...root,
    items: flattenBelow(
      flat.flatMap((i) => (i.t === 'field' ? [i] : i.items)),
      1,
    ),
  };
}

/** Customers by regime and by whether they give a purpose a legal basis (at setup time), for aimed look-ups. */
const aimed = new Map<string, { mine: StoredCustomer[]; theirs: StoredCustomer[] }>();
const REGIME_LIST = ['GDPR', 'CCPA', 'US_STATE', 'NONE'] as const;

function targetId(target: Target, purposeKey: string): string {
  if (target.pool !== 'own' && target.pool !== 'demo' && target.pool !== 'missing') {
    // Aimed at a regime: an own customer when one fits, else a demo one. 'consented' / 'limited': permitted,
    // and the purpose's sensitive basis there (an opt-in, or no opt-out) holds / does not hold.
    // A limit on sensitive data is an opt-out only in CCPA: aim 'limited' there first.
    const first = target.pool === 'limited' ? 1 : target.regime;
    for (let k = 0; k < 4; k++) {
      const id = aimedAt(target, purposeKey, REGIME_LIST[(first + k) % 4]);
      if (id) return id;
    }
  }
  if (target.pool === 'demo') return demo[target.n % demo.length].id;
  if (target.pool !== 'missing') return own[target.n % own.length].id;
  // A well-formed id of nobody, stable per n.
  return `00000000-0000-4000-8000-${String(target.n % 1e12).padStart(12, '0')}`;
}

function aimedAt(target: Target, purposeKey: string, regime: string): string | undefined {
  // In strictest mode, aimed exclusions are of customers whose own law would permit them (the others come from the own/demo pools).
  const strictOnly = mode === 'strictest' && target.pool === 'excluded';
  const key = `${mode}|${purposeKey}|${target.pool}|${regime}|${strictOnly}`;
  if (!aimed.has(key)) {
    const purpose = purposeOf(purposeKey);
    const now = new Date();
    const fits = (c: StoredCustomer) => {
      const st = standing(purpose, c, now, mode);
      if (st.regime !== regime) return false;
      if (target.pool === 'excluded') return !st.permitted && (!strictOnly || standing(purpose, c, now).permitted);
      if (target.pool === 'permitted') return st.permitted;
      const basis = (purpose.sensitiveBasis as Record<string, string>)[regime];
      const consentBased = basis === 'OPT_IN' || basis === 'OPT_OUT';
      return st.permitted && consentBased && sensitiveHolds(purpose, c, now, mode) === (target.pool === 'consented');
    };
    aimed.set(key, { mine: own.filter(fits), theirs: demo.filter(fits) });
  }
  // Two in three from our own customers when any fits, else from the demo ones.
  const { mine, theirs } = aimed.get(key)!;
  const list = mine.length > 0 && (target.n % 3 !== 0 || theirs.length === 0) ? mine : theirs;
  return list.length > 0 ? list[Math.floor(target.n / 3) % list.length].id : undefined;
}

const passes = (cond: Cond | null) => !cond || (cond.dir === 'include' ? cond.value : !cond.value);

/** The fields a selection resolves to, after fragments and @include/@skip. */
function effective(list: Item[]): FieldItem[] {
  return list.flatMap((item) => {
    if (!passes(item.cond)) return [];
    return item.t === 'field' ? [item] : effective(item.items);
  });
}

// ---------------------------------------------------------------------------
// Records of the returned customers, read by SQL when a document selects them

interface Rec {
  id: string;
  [field: string]: unknown;
}
interface Records {
  orders: Map<string, Rec[]>;
  items: Map<string, Rec[]>;
  tickets: Map<string, Rec[]>;
  messages: Map<string, Rec[]>;
  interactions: Map<string, Rec[]>;
  webEvents: Map<string, Rec[]>;
}

const groupBy = (rows: Rec[], key: string) => {
  const map = new Map<string, Rec[]>();
  for (const r of rows) {
    const k = String(r[key]);
    map.set(k, [...(map.get(k) ?? []), r]);
  }
  return map;
};
const inst = (v: string | null) => (v === null ? null : new Instant(v));

async function loadRecords(customerIds: string[]): Promise<Records> {
  const pool = app.db.pool;
  const q = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows as Rec[];
  const orders = (
    await q(
      `SELECT id::text, customer_id::text, number, status, currency, total::text, to_char(placed_at, ${ISO_MS}) AS placed_at
         FROM "order" WHERE customer_id = ANY($1::uuid[])`,
      [customerIds],
    )
  ).map((r) => ({ ...r, total: new Decimalish(r.total as string), placedAt: inst(r.placed_at as string) }));
  const items = (
    await q(`SELECT id::text, order_id::text, sku, name, quantity, unit_price::text FROM order_item WHERE order_id = ANY($1::uuid[])`, [
      orders.map((o) => o.id),
    ])
  ).map((r) => ({ ...r, unitPrice: new Decimalish(r.unit_price as string) }));
  const tickets = (
    await q(
      `SELECT id::text, customer_id::text, subject, status, channel, to_char(opened_at, ${ISO_MS}) AS opened_at,
              to_char(closed_at, ${ISO_MS}) AS closed_at FROM support_ticket WHERE customer_id = ANY($1::uuid[])`,
      [customerIds],
    )
  ).map((r) => ({ ...r, openedAt: inst(r.opened_at as string), closedAt: inst(r.closed_at as string | null) }));
  const messages = (
    await q(
      `SELECT id::text, ticket_id::text, author, body, to_char(sent_at, ${ISO_MS}) AS sent_at FROM ticket_message WHERE ticket_id = ANY($1::uuid[])`,
      [tickets.map((t) => t.id)],
    )
  ).map((r) => ({ ...r, sentAt: inst(r.sent_at as string) }));
  const interactions = (
    await q(
      `SELECT id::text, customer_id::text, campaign, kind, to_char(occurred_at, ${ISO_MS}) AS occurred_at
         FROM marketing_interaction WHERE customer_id = ANY($1::uuid[])`,
      [customerIds],
    )
  ).map((r) => ({ ...r, occurredAt: inst(r.occurred_at as string) }));
  const webEvents = (
    await q(
      `SELECT id::text, customer_id::text, kind, path, device, to_char(occurred_at, ${ISO_MS}) AS occurred_at
         FROM web_event WHERE customer_id = ANY($1::uuid[])`,
      [customerIds],
    )
  ).map((r) => ({ ...r, occurredAt: inst(r.occurred_at as string) }));
  return {
    orders: groupBy(orders, 'customer_id'),
    items: groupBy(items, 'order_id'),
    tickets: groupBy(tickets, 'customer_id'),
    messages: groupBy(messages, 'ticket_id'),
    interactions: groupBy(interactions, 'customer_id'),
    webEvents: groupBy(webEvents, 'customer_id'),
  };
}

const byTimeDescId = (field: string) => (a: Rec, b: Rec) => {
  const d = (b[field] as Instant).ms - (a[field] as Instant).ms;
  return d !== 0 ? d : a.id < b.id ? -1 : 1;
};

/** The records a relation returns, in its order ('unordered' where the API orders by a collated text). */
function relationRecords(
  records: Records,
  type: string,
  field: string,
  parent: Rec,
  first: number | null,
): { list: Rec[]; ordered: boolean } {
  const take = Math.min(Math.max(first ?? 20, 1), 100);
  const pickList = (map: Map<string, Rec[]>, sort: (a: Rec, b: Rec) => number) => [...(map.get(parent.id) ?? [])].sort(sort).slice(0, take);
  switch (`${type}.${field}`) {
    case 'Customer.orders':
      return { list: pickList(records.orders, byTimeDescId('placedAt')), ordered: true };
    case 'Customer.tickets':
      return { list: pickList(records.tickets, byTimeDescId('openedAt')), ordered: true };
    case 'Customer.interactions':
      return { list: pickList(records.interactions, byTimeDescId('occurredAt')), ordered: true };
    case 'Customer.webEvents':
      return { list: pickList(records.webEvents, byTimeDescId('occurredAt')), ordered: true };
    case 'Order.items':
      return { list: records.items.get(parent.id) ?? [], ordered: false };
    case 'SupportTicket.messages':
      return {
        list: [...(records.messages.get(parent.id) ?? [])].sort(
          (a, b) => (a.sentAt as Instant).ms - (b.sentAt as Instant).ms || (a.id < b.id ? -1 : 1),
        ),
        ordered: true,
      };
  }
  throw new Error(`no relation ${type}.${field}`);
}

/** A stored value of a record as the oracle compares it. */
function storedValue(type: string, rec: Rec | StoredCustomer, field: string): unknown {
  if (type === 'Customer') {
    const c = rec as StoredCustomer;
    if (field === 'lifetimeValue') return new Decimalish(c.lifetimeValue);
    if (field === 'createdAt') return new Instant(c.createdAt);
    return (c as unknown as Record<string, unknown>)[field];
  }
  return (rec as Rec)[field];
}

// ---------------------------------------------------------------------------
// Checking a response

const counts = new Map<string, number>();
const count = (key: string, n = 1) => counts.set(key, (counts.get(key) ?? 0) + n);

/** Per purpose: a token and the value it stands for, in both directions (tokens are per value and purpose). */
const tokenValue = new Map<string, string>();
const valueToken = new Map<string, string>();

interface CheckState {
  purpose: OraclePurpose;
  now: Date;
  problems: string[];
  /** Response paths where an hmac token is expected, as "a.b.0.c". */
  hmacPaths: Set<string>;
  /** Response paths the oracle says are masked, with the kind of reason. */
  masked: Map<string, 'not-served' | 'sensitive'>;
  subjects: Set<string>;
  records: Records | null;
}

function checkObject(
  s: CheckState,
  type: string,
  stored: Rec | StoredCustomer,
  owner: StoredCustomer,
  items: Item[],
  actual: unknown,
  path: (string | number)[],
): void {
  const at = path.join('.');
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
    s.problems.push(`${at}: expected an object for ${type} ${stored.id}, got ${JSON.stringify(actual)}`);
    return;
  }
  const obj = actual as Record<string, unknown>;
  const fields = effective(items);
  const expectedKeys = fields.map(keyOf).sort();
  const actualKeys = Object.keys(obj).sort();
  if (JSON.stringify(expectedKeys) !== JSON.stringify(actualKeys)) {
    s.problems.push(`${at}: keys ${JSON.stringify(actualKeys)}, expected ${JSON.stringify(expectedKeys)}`);
  }
  count(`skipped fields`, countSkipped(items));
  for (const f of fields) {
    const key = keyOf(f);
    const value = obj[key];
    const p = [...path, key];
    const where = `${p.join('.')} (${type}.${f.field} of customer ${owner.id})`;
    const tagged = TAGS[type][f.field];
    if (tagged === 'surrogate-key') {
      if (value !== stored.id) s.problems.push(`${where}: id ${JSON.stringify(value)}, expected ${stored.id}`);
      continue;
    }
    if (tagged === 'pseudonym') {
      // A keyed token of the subject under the purpose: stable, and one per subject.
      count('pseudonyms');
      if (typeof value !== 'string' || !HMAC_TOKEN.test(value)) {
        s.problems.push(`${where}: expected a pseudonym token, got ${JSON.stringify(value)}`);
        continue;
      }
      s.hmacPaths.add(['data', ...p].join('.'));
      const tk = `${s.purpose.key}|pseudonym|${value}`;
      const vk = `${s.purpose.key}|pseudonym-of|${owner.id}`;
      if (tokenValue.has(tk) && tokenValue.get(tk) !== owner.id) s.problems.push(`${where}: pseudonym ${value} names two subjects`);
      if (valueToken.has(vk) && valueToken.get(vk) !== value) s.problems.push(`${where}: two pseudonyms for one subject under one purpose`);
      tokenValue.set(tk, owner.id);
      valueToken.set(vk, value);
      continue;
    }
    const t = tagged as OracleTag;
    const outcome = fieldOutcome(s.purpose, owner, t, s.now, mode);
    const sensitive = t.category === 'sensitive';
    if (outcome === 'masked') s.masked.set(p.join('.'), t.serves.includes(s.purpose.key) ? 'sensitive' : 'not-served');
    count(`field ${outcome}`);
    if (sensitive) {
      count(`sensitive field ${outcome}`);
      if (t.serves.includes(s.purpose.key)) {
        const basis = (s.purpose.sensitiveBasis as Record<string, string>)[regimeFor(owner.country, owner.region, mode)];
        count(`sensitive field served, ${outcome} under ${basis}`);
      }
    }
    if (t.relation) {
      if (outcome === 'masked') {
        if (value !== null) s.problems.push(`${where}: a masked relation came back as ${JSON.stringify(value).slice(0, 200)}`);
        continue;
      }
      if (!s.records) throw new Error('records not loaded');
      const { list, ordered } = relationRecords(s.records, type, f.field, stored as Rec, f.first);
      if (!Array.isArray(value) || value.length !== list.length) {
        s.problems.push(`${where}: expected ${list.length} records, got ${JSON.stringify(value)?.slice(0, 300)}`);
        continue;
      }
      count('records', list.length);
      if (ordered) {
        list.forEach((rec, i) => {
          checkObject(s, t.relation!, rec, owner, f.sub, value[i], [...p, i]);
        });
      } else {
        // Ordered by a text column (collation-dependent): match each returned record to one expected.
        const unused = [...list];
        value.forEach((v, i) => {
          const index = unused.findIndex((rec) => {
            const trial: CheckState = { ...s, problems: [], hmacPaths: new Set(), masked: new Map() };
            checkObject(trial, t.relation!, rec, owner, f.sub, v, [...p, i]);
            return trial.problems.length === 0;
          });
          if (index < 0) {
            s.problems.push(`${p.join('.')}.${i}: matches no record of ${type} ${stored.id}: ${JSON.stringify(v)}`);
            return;
          }
          checkObject(s, t.relation!, unused[index], owner, f.sub, v, [...p, i]);
          unused.splice(index, 1);
        });
      }
      continue;
    }
    const clear = storedValue(type, stored, f.field);
    if (outcome === 'clear') {
      if (!sameValue(value, clear)) {
        s.problems.push(
          `${where}: expected the clear value ${JSON.stringify(String(clear))}, got ${JSON.stringify(value)} (over-masked or wrong)`,
        );
      }
      continue;
    }
    const problem = maskProblem(t.mask, clear, value);
    if (problem) s.problems.push(`${where}: ${problem}`);
    if (value !== null) count(`mask ${t.mask.strategy}${'kind' in t.mask ? `:${t.mask.kind}` : ''}`);
    if (t.mask.strategy === 'hmac' && typeof value === 'string') {
      s.hmacPaths.add(['data', ...p].join('.'));
      const tk = `${s.purpose.key}|${value}`;
      const vk = `${s.purpose.key}|${String(clear)}`;
      if (tokenValue.has(tk) && tokenValue.get(tk) !== String(clear)) s.problems.push(`${where}: token ${value} stands for two values`);
      if (valueToken.has(vk) && valueToken.get(vk) !== value) s.problems.push(`${where}: one value got two tokens under one purpose`);
      tokenValue.set(tk, String(clear));
      valueToken.set(vk, value);
    }
  }
}

function countSkipped(list: Item[]): number {
  return list.reduce((n, item) => {
    if (!passes(item.cond)) return n + 1;
    return item.t === 'field' ? n : n + countSkipped(item.items);
  }, 0);
}

/** Every string of a JSON value with its path. */
function* strings(value: unknown, path: (string | number)[] = []): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

const SCANS = [
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
  /[^\s"'<>(),;:]+@[^\s"'<>(),;:]+/g,
  /\b(?:CRM|NOLEAK)-[A-Za-z0-9-]+/g,
  /\+[0-9][0-9 ()./-]{5,}[0-9]/g,
];

/**
 * (1) Nothing of a customer without a legal basis anywhere in the body: no
 * id, email, external id, unique phone/name/street as a value or inside any
 * text (errors, extensions included); for our own customers no value carrying
 * their marker at all; and every hmac token sits at a checked field of a
 * permitted subject.
 */
function checkNoTrace(s: CheckState, body: unknown, excluded: Set<string>) {
  const text = JSON.stringify(body);
  const leak = (owner: string | undefined, what: string) => {
    if (owner && excluded.has(owner)) s.problems.push(`LEAK: ${what} of customer ${owner}, who gives "${s.purpose.key}" no legal basis`);
  };
  for (const [value, path] of strings(body)) {
    leak(uniqueNeedles.get(value), `the value ${JSON.stringify(value)} at ${path.join('.')}`);
    if (value.includes('hmac:') && !s.hmacPaths.has(path.join('.'))) {
      s.problems.push(`${path.join('.')}: a token ${JSON.stringify(value)} where none is expected`);
    }
  }
  for (const re of SCANS) {
    for (const m of text.matchAll(re))
      leak(uniqueNeedles.get(m[0]) ?? uniqueNeedles.get(m[0].toLowerCase()), `${JSON.stringify(m[0])} in the body`);
  }
  for (const c of own) {
    if (excluded.has(c.id) && text.includes(markerOf.get(c.id)!)) leak(c.id, `a value marked ${markerOf.get(c.id)}`);
  }
}

function excludedUnder(purpose: OraclePurpose, now: Date): Set<string> {
  return new Set(customers.filter((c) => !standing(purpose, c, now, mode).permitted).map((c) => c.id));
}

const normOrder = (o: OrderArg | null): OracleOrder | null => (o ? { field: o.field, direction: o.direction ?? 'ASC' } : null);
const orderKey = (o: OrderArg | null) => {
  const n = normOrder(o);
  return n ? `${n.field}:${n.direction}` : 'id';
};

interface ListExpectation {
  codes: string[] | null;
  anchor: StoredCustomer | null;
}

interface IssuedCursor {
  cursor: string;
  node: StoredCustomer;
}
interface ListResult {
  root: ListRoot;
  actor: Actor;
  end: IssuedCursor | null;
  start: IssuedCursor | null;
  edges: IssuedCursor[];
}

/** Sends one request and checks every part of its response; returns what the first list root issued. */
async function request(actor: Actor, roots: Root[], listExpect: Map<Root, ListExpectation> = new Map()): Promise<ListResult | null> {
  const purpose = purposeOf(actor.purpose);
  const doc = render(roots, actor.purpose);
  const now = new Date();
  const res = await api.graphql(doc.text, {
    client: actor.client,
    purpose: actor.purpose,
    variables: doc.variables,
    headers: actor.explain ? { 'x-consent-explain': '1' } : undefined,
  });
  const s: CheckState = { purpose, now, problems: [], hmacPaths: new Set(), masked: new Map(), subjects: new Set(), records: null };
  const body = res.body as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
    extensions?: Record<string, any>;
  };
  const excluded = excludedUnder(purpose, now);
  const data = body.data ?? {};
  const errors = body.errors ?? [];
  const permittedHere = (c: StoredCustomer) => !excluded.has(c.id);
  let issued: ListResult | null = null;

  // Which customers the response may hold, for loading their records.
  const expectedNodes: { root: Root; key: string; nodes: StoredCustomer[] }[] = [];
  const rootKey = (r: Root) => r.alias ?? (r.kind === 'one' ? 'customer' : 'customers');
  const expectedKeys = roots
    .filter((r) => passes(r.cond))
    .map(rootKey)
    .sort();
  if (JSON.stringify(Object.keys(data).sort()) !== JSON.stringify(expectedKeys)) {
    s.problems.push(
      `data has keys ${JSON.stringify(Object.keys(data))}, expected ${JSON.stringify(expectedKeys)}; errors: ${JSON.stringify(errors)}`,
    );
  }
  const expectedErrors = new Map<string, string[]>();
  const pages = new Map<Root, { nodes: StoredCustomer[]; more: boolean; total: number }>();
  for (const root of roots) {
    if (!passes(root.cond)) continue;
    const key = rootKey(root);
    if (root.kind === 'one') {
      const id = targetId(root.target, actor.purpose);
      const c = byId.get(id);
      const ok = c !== undefined && permittedHere(c);
      if (c) {
        const st = standing(purpose, c, now, mode);
        count(`lookup ${ok ? 'permitted' : 'excluded'} ${st.regime}`);
        if (mode === 'strictest' && !ok && standing(purpose, c, now).permitted)
          count('strictest: excluded, though permitted where they live');
        if (!ok) count(`excluded because ${st.why}`);
        if (st.minor && st.basis === 'OPT_IN' && (purpose.basis as Record<string, string>)[st.regime] === 'OPT_OUT')
          count(`minor needs opt-in (${ok ? 'has it' : 'lacks it'})`);
      } else count('lookup of nobody');
      expectedNodes.push({ root, key, nodes: ok ? [c!] : [] });
      continue;
    }
    const order = normOrder(root.order);
    const expectation = listExpect.get(root) ?? { codes: null, anchor: null };
    const allowed = listAllowed(purpose, root.filter, order);
    const codes = expectation.codes ?? (allowed ? null : ['FILTER_NOT_ALLOWED']);
    if (codes) {
      expectedErrors.set(key, codes);
      expectedNodes.push({ root, key, nodes: [] });
      continue;
    }
    const matching = customers.filter((c) => matchesFilter(c, root.filter));
    const sorted = matching.filter(permittedHere).sort(comparator(order));
    for (const c of matching) {
      if (permittedHere(c)) continue;
      const st = standing(purpose, c, now, mode);
      count(`left out of a list: ${st.regime} ${st.why}`);
    }
    const page = keysetPage(sorted, comparator(order), expectation.anchor, root.size ?? 20, root.backward);
    pages.set(root, page);
    expectedNodes.push({ root, key, nodes: page.nodes });
  }
  for (const e of errors) {
    const key = String(e.path?.[0] ?? '');
    const codes = expectedErrors.get(key);
    if (!codes?.includes(e.extensions?.code ?? '')) s.problems.push(`unexpected error at ${key}: ${e.extensions?.code} ${e.message}`);
    else count(`refused: ${e.extensions?.code}`);
  }
  if (expectedErrors.size === 0 && res.status !== 200) s.problems.push(`HTTP ${res.status} for a request without expected errors`);
  for (const [key, codes] of expectedErrors) {
    if (!errors.some((e) => e.path?.[0] === key))
      s.problems.push(`${key}: expected an error ${codes.join(' or ')}, got ${JSON.stringify(data[key])?.slice(0, 300)}`);
    else if (data[key] !== null && data[key] !== undefined)
      s.problems.push(`${key}: an error, yet data ${JSON.stringify(data[key]).slice(0, 300)}`);
  }

  const allNodes = expectedNodes.flatMap((e) => e.nodes);
  const needsRecords = roots.some((r) => JSON.stringify(r.items).includes('"sub":[{'));
  if (needsRecords && allNodes.length > 0) s.records = await loadRecords([...new Set(allNodes.map((c) => c.id))]);

  for (const { root, key, nodes } of expectedNodes) {
    if (expectedErrors.has(key)) continue;
    const value = data[key];
    if (root.kind === 'one') {
      if (nodes.length === 0) {
        if (value !== null)
          s.problems.push(
            `${key}: customer ${targetId(root.target, actor.purpose)} has no legal basis (or does not exist), yet came back: ${JSON.stringify(value).slice(0, 300)}`,
          );
        continue;
      }
      s.subjects.add(nodes[0].id);
      count(`returned ${standing(purpose, nodes[0], now, mode).regime}`);
      checkObject(s, 'Customer', nodes[0], nodes[0], root.items, value, [key]);
      continue;
    }
    const page = pages.get(root)!;
    const conn = value as {
      totalCount?: number;
      pageInfo?: Record<string, unknown>;
      edges?: { cursor?: string; node: Record<string, unknown> }[];
    } | null;
    if (!conn || !Array.isArray(conn.edges)) {
      s.problems.push(`${key}: expected a connection, got ${JSON.stringify(value)?.slice(0, 300)}`);
      continue;
    }
    const connKeys = [root.total ? 'totalCount' : '', root.pageInfo ? 'pageInfo' : '', 'edges'].filter(Boolean).sort();
    if (JSON.stringify(Object.keys(conn).sort()) !== JSON.stringify(connKeys))
      s.problems.push(`${key}: keys ${Object.keys(conn)}, expected ${connKeys}`);
    const got = conn.edges.map((e) => e.node?.id);
    const want = page.nodes.map((c) => c.id);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const strangers = got.filter((id) => typeof id === 'string' && excluded.has(id));
      const i = got.findIndex((id, k) => id !== want[k]);
      const first = i < 0 ? want.length : i;
      const explain = (id: unknown) => {
        const c = typeof id === 'string' ? byId.get(id) : undefined;
        if (!c) return `${JSON.stringify(id)} (no such customer)`;
        const st = standing(purpose, c, now, mode);
        return `${c.id} (${st.regime}, ${st.permitted ? 'permitted' : `excluded: ${st.why}`}, consent ${JSON.stringify(c.consents.filter((r) => r.purposeKey === purpose.key))})`;
      };
      s.problems.push(
        `${key}: ${got.length} nodes, the oracle's keyset page has ${want.length}; first difference at ${first}: ` +
          `got ${explain(got[first])}, expected ${explain(want[first])}` +
          (strangers.length > 0 ? `; LEAK: the page holds customers without a legal basis: ${strangers.join(', ')}` : ''),
      );
      continue;
    }
    count(`pages ${root.cursor ? (root.backward ? 'before a cursor' : 'after a cursor') : root.backward ? 'last' : 'first'}`);
    if (root.total) {
      if (conn.totalCount !== page.total) s.problems.push(`${key}.totalCount: ${conn.totalCount}, expected ${page.total}`);
      count('totalCount checked');
    }
    if (root.pageInfo) {
      const info = conn.pageInfo ?? {};
      const flag = root.backward ? 'hasPreviousPage' : 'hasNextPage';
      if (info[flag] !== page.more) s.problems.push(`${key}.pageInfo.${flag}: ${info[flag]}, expected ${page.more}`);
      if ((info.startCursor === null) !== (page.nodes.length === 0) || (info.endCursor === null) !== (page.nodes.length === 0)) {
        s.problems.push(`${key}.pageInfo: cursors ${JSON.stringify(info)} for ${page.nodes.length} nodes`);
      }
    }
    conn.edges.forEach((edge, i) => {
      const c = page.nodes[i];
      const edgeKeys = [root.edgeCursor ? 'cursor' : '', 'node'].filter(Boolean).sort();
      if (JSON.stringify(Object.keys(edge).sort()) !== JSON.stringify(edgeKeys))
        s.problems.push(`${key}.edges.${i}: keys ${Object.keys(edge)}`);
      s.subjects.add(c.id);
      count(`returned ${standing(purpose, c, now, mode).regime}`);
      checkObject(s, 'Customer', c, c, root.items, edge.node, [key, 'edges', i, 'node']);
    });
    if (!issued && roots.indexOf(root) === 0 && page.nodes.length > 0) {
      const info = conn.pageInfo ?? {};
      issued = {
        root,
        actor,
        end: typeof info.endCursor === 'string' ? { cursor: info.endCursor, node: page.nodes[page.nodes.length - 1] } : null,
        start: typeof info.startCursor === 'string' ? { cursor: info.startCursor, node: page.nodes[0] } : null,
        edges: root.edgeCursor ? conn.edges.map((e, i) => ({ cursor: e.cursor!, node: page.nodes[i] })) : [],
      };
    }
  }

  // What the response says about itself (extensions.consent).
  const summary = body.extensions?.consent;
  if (!summary) s.problems.push('no extensions.consent');
  else if (s.problems.length === 0) {
    // (Only when the data matched: otherwise these counts differ as a consequence.)
    if (summary.purpose !== purpose.key) s.problems.push(`extensions.consent.purpose ${summary.purpose}`);
    if (summary.maskedFields !== s.masked.size)
      s.problems.push(`extensions.consent.maskedFields ${summary.maskedFields}, expected ${s.masked.size}`);
    if (summary.subjects !== s.subjects.size)
      s.problems.push(`extensions.consent.subjects ${summary.subjects}, expected ${s.subjects.size}`);
    if (actor.explain) {
      count('explained responses');
      const listed = new Map<string, string>((summary.masked ?? []).map((m: { path: string; reason: string }) => [m.path, m.reason]));
      for (const [path, kind] of s.masked) {
        const reason = listed.get(path);
        const fits =
          kind === 'not-served'
            ? reason === 'PURPOSE_NOT_SERVED'
            : ['SENSITIVE_REQUIRES_OPT_IN', 'SENSITIVE_LIMITED'].includes(reason ?? '');
        if (!fits) s.problems.push(`extensions.consent.masked: ${path} has reason ${reason}, expected ${kind}`);
      }
      for (const path of listed.keys())
        if (!s.masked.has(path)) s.problems.push(`extensions.consent.masked lists ${path}, which the oracle says is clear`);
    }
  }

  checkNoTrace(s, body, excluded);
  if (s.problems.length > 0) {
    throw new Error(
      `${s.problems.length} problem(s) for ${actor.client} declaring "${actor.purpose}"${actor.explain ? ' with explanations' : ''}:\n- ` +
        `${s.problems.slice(0, 15).join('\n- ')}\nquery:\n${doc.text}\nvariables: ${JSON.stringify(doc.variables)}\n` +
        `data seed NOLEAK_SEED=${DATA_SEED}`,
    );
  }
  return issued;
}

/** The next request of a chain: continue from a cursor, or replay it where it is not valid. */
async function followCursor(step: ChainStep, issued: ListResult): Promise<ListResult | null> {
  const source = issued.root;
  const cursor =
    step.pick === 'edge' && issued.edges.length > 0
      ? issued.edges[step.edge % issued.edges.length]
      : step.pick === 'start'
        ? issued.start
        : issued.end;
  if (!cursor) return null;
  let actor = issued.actor;
  let order = source.order;
  let text = cursor.cursor;
  if (step.rebind === 'purpose') {
    const others = ACTORS.filter((a) => a.purpose !== actor.purpose);
    actor = others[step.otherActor % others.length];
  } else if (step.rebind === 'client') {
    const others = ACTORS.filter((a) => a.purpose === actor.purpose && a.client !== actor.client);
    const fallback = ACTORS.filter((a) => a.purpose !== actor.purpose);
    actor = others.length > 0 ? others[step.otherActor % others.length] : fallback[step.otherActor % fallback.length];
  } else if (step.rebind === 'order') {
    order = step.order;
  } else if (step.rebind === 'forged') {
    // One character changed: the seal must refuse it.
    const i = step.edge % text.length;
    text = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
  }
  const root: ListRoot = {
    ...source,
    alias: null,
    cond: null,
    order,
    size: step.size,
    backward: step.backward,
    filter: step.filter ?? source.filter,
    cursor: text,
  };
  const sameBinding =
    actor.client === issued.actor.client && actor.purpose === issued.actor.purpose && orderKey(order) === orderKey(source.order);
  const valid = sameBinding && step.rebind !== 'forged';
  const allowed = listAllowed(purposeOf(actor.purpose), root.filter, normOrder(order));
  const expectation: ListExpectation = valid
    ? { codes: allowed ? null : ['FILTER_NOT_ALLOWED'], anchor: cursor.node }
    : { codes: allowed ? ['INVALID_CURSOR'] : ['INVALID_CURSOR', 'FILTER_NOT_ALLOWED'], anchor: null };
  count(valid ? 'cursor followed' : `cursor replayed (${step.rebind === 'same' ? 'order' : step.rebind})`);
  const [bounded] = withinBounds([root]);
  return request(actor, [bounded], new Map([[bounded, expectation]]));
}

// ---------------------------------------------------------------------------

let database: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  // The oracle reads every customer once: no other test file may add one meanwhile.
  database = await isolatedDatabase('noleak');
  app = await createTestApp({ databaseUrl: database.url });
  api = app;
  const now = new Date();
  await insertOwnCustomers(now);
  customers = await loadAllCustomers();
  for (const c of customers) byId.set(c.id, c);
  own = ownPlans.map((p) => byId.get(p.id)!);
  demo = customers.filter((c) => !c.externalId.startsWith(PREFIX));
  const tally = new Map<string, number>();
  for (const c of customers) for (const v of [c.phone, c.lastName, c.street]) if (v) tally.set(v, (tally.get(v) ?? 0) + 1);
  for (const c of customers) {
    for (const v of [c.id, c.email, c.externalId]) uniqueNeedles.set(v, c.id);
    for (const v of [c.phone, c.lastName, c.street]) if (v && tally.get(v) === 1 && v.length >= 6) uniqueNeedles.set(v, c.id);
  }
}, 120_000);

afterAll(async () => {
  if (!app) return;
  const ids = ownPlans.map((p) => p.id);
  // Give the audit trail's writes of the last requests time to land, then remove our rows.
  await new Promise((resolve) => setTimeout(resolve, 200));
  await app.db.pool.query(
    'DELETE FROM access_record WHERE id IN (SELECT record_id FROM access_subject WHERE customer_id = ANY($1::uuid[]))',
    [ids],
  );
  await app.db.pool.query('DELETE FROM access_subject WHERE customer_id = ANY($1::uuid[])', [ids]);
  await app.db.pool.query('DELETE FROM customer WHERE external_id LIKE $1', [`${PREFIX}%`]);
  const left = await app.db.pool.query('SELECT count(*)::int AS n FROM consent_state WHERE customer_id = ANY($1::uuid[])', [ids]);
  expect(left.rows[0].n).toBe(0);
  await app.close();
  await database.drop();
});

describe('no customer without a legal basis leaves the API, over HTTP', () => {
  it('stores jurisdictions normalised, and the regime of the raw value is the regime of the stored one', () => {
    for (const plan of ownPlans) {
      const c = byId.get(plan.id)!;
      expect([c.country, c.region]).toEqual([normaliseJurisdiction(plan.rawCountry), normaliseJurisdiction(plan.rawRegion)]);
      expect(regimeFor(plan.rawCountry, plan.rawRegion)).toBe(regimeFor(c.country, c.region));
    }
    const regimes = new Set(own.map((c) => regimeFor(c.country, c.region)));
    expect([...regimes].sort()).toEqual(['CCPA', 'GDPR', 'NONE', 'US_STATE']);
  });

  it('restates the field tags the schema carries', async () => {
    const { body } = await app.graphql('{ dataMap { type field serves category mask surrogateKey pseudonym } }', {
      client: 'schema-admin',
    });
    expect(body.errors).toBeUndefined();
    const live = new Map<string, any>((body.data.dataMap as any[]).map((e) => [`${e.type}.${e.field}`, e]));
    const differences: string[] = [];
    const describe = (e: any) =>
      e.surrogateKey
        ? 'surrogate-key'
        : e.pseudonym
          ? 'pseudonym'
          : JSON.stringify({ serves: [...e.serves].sort(), category: e.category, mask: e.mask });
    for (const [type, fields] of Object.entries(TAGS)) {
      for (const [field, t] of Object.entries(fields)) {
        const e = live.get(`${type}.${field}`);
        const mine = typeof t === 'string' ? t : describe({ serves: t.serves, category: t.category, mask: t.mask.strategy });
        if (!e) differences.push(`${type}.${field}: not in dataMap`);
        else if (describe(e) !== mine) differences.push(`${type}.${field}: schema ${describe(e)}, oracle ${mine}`);
      }
      for (const e of live.values()) if (e.type === type && !(e.field in fields)) differences.push(`${type}.${e.field}: not restated`);
    }
    expect(differences).toEqual([]);
  });

  it('answers random documents exactly as the oracle says, and never names an excluded customer', async () => {
    await runProperty(NUM_RUNS, 'per-jurisdiction');
  }, 300_000);

  it('reached every outcome several times', () => {
    const at = (key: string) => counts.get(key) ?? 0;
    const needed = [
      ...['GDPR', 'CCPA', 'US_STATE', 'NONE'].flatMap((r) => [`lookup permitted ${r}`, `lookup excluded ${r}`, `returned ${r}`]),
      'field clear',
      'field masked',
      'sensitive field clear',
      'sensitive field masked',
      'sensitive field served, clear under OPT_IN',
      'sensitive field served, masked under OPT_IN',
      'sensitive field served, clear under OPT_OUT',
      'sensitive field served, masked under OPT_OUT',
      'mask hmac',
      'mask partial:phone',
      'mask generalize:year',
      'mask generalize:prefix',
      'mask generalize:region',
      'mask redact',
      'refused: INVALID_CURSOR',
      'refused: FILTER_NOT_ALLOWED',
      'pages after a cursor',
      'pages before a cursor',
      'totalCount checked',
      'records',
      'skipped fields',
      'explained responses',
    ];
    const missing = needed.filter((k) => at(k) < 3).map((k) => `${k}: ${at(k)}`);
    expect(missing).toEqual([]);
    const reasons = ['NO_CONSENT', 'WITHDRAWN', 'OPTED_OUT', 'EXPIRED', 'OUTDATED', 'MINOR_NO_OPT_IN'];
    const reached = (why: string) =>
      at(`excluded because ${why}`) +
      [...counts.entries()].filter(([k]) => k.startsWith('left out of a list') && k.endsWith(` ${why}`)).reduce((n, [, v]) => n + v, 0);
    expect(reasons.filter((why) => reached(why) === 0)).toEqual([]);
  });

  it('in strictest mode, answers as the oracle says with everyone under GDPR', async () => {
    // A second server on the same database, CONSENTQL_MODE=strictest.
    const strict = await createTestApp({ env: { CONSENTQL_MODE: 'strictest' }, databaseUrl: database.url });
    api = strict;
    mode = 'strictest';
    try {
      await runProperty(STRICT_RUNS, 'strictest');
    } finally {
      api = app;
      mode = 'per-jurisdiction';
      await strict.close();
    }
    expect(counts.get('strictest: excluded, though permitted where they live') ?? 0).toBeGreaterThanOrEqual(3);
  }, 300_000);
});

async function runProperty(numRuns: number, label: string) {
  const started = Date.now();
  let requests = 0;
  await fc.assert(
    fc.asyncProperty(PLAN, async (plan) => {
      const actor = ACTORS[plan.actor];
      const roots = withinBounds(plan.roots);
      requests++;
      const issued = await request(actor, roots);
      if (plan.chain && issued && issued.root === roots[0]) {
        requests++;
        const next = await followCursor(plan.chain, issued);
        if (next && plan.chain.rebind === 'same') {
          // And back: from the new page's edge, the other way.
          requests++;
          const back = !plan.chain.backward;
          await followCursor({ ...plan.chain, backward: back, pick: back ? 'start' : 'end', filter: null }, next);
        }
      }
    }),
    { numRuns, seed: FC_SEED, endOnFailure: true },
  );
  console.log(
    `no-leak over HTTP (${label}): ${numRuns} runs, ${requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(NOLEAK_SEED=${DATA_SEED})\n` +
      [...counts.entries()]
        .sort()
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n'),
  );
}
