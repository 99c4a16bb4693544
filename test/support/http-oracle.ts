import { PURPOSES } from '../../src/policy/taxonomy.ts';

// An independent oracle for what the GraphQL API may return, written from the
// rules as the API states them (README, the no-leak spec), not from the
// engine: nothing here calls decide/permits/permittedWhere/regimeOf or reads
// the schema's tags. It imports only the taxonomy data (`PURPOSES`: each
// purpose's version, bases per regime, sensitive bases and minors rule) and
// restates the field tags of src/schema/types/ (checked against the live
// `dataMap` by the HTTP property test). It works on rows read back by SQL.

export type Regime = 'GDPR' | 'CCPA' | 'US_STATE' | 'NONE';
export const ORACLE_REGIMES: readonly Regime[] = ['GDPR', 'CCPA', 'US_STATE', 'NONE'];
export type Mode = 'per-jurisdiction' | 'strictest';

type Basis = 'CONTRACT' | 'OPT_IN' | 'OPT_OUT' | 'DENY';
export type OraclePurpose = (typeof PURPOSES)[number];

export function purposeOf(key: string): OraclePurpose {
  const purpose = PURPOSES.find((p) => p.key === key);
  if (!purpose) throw new Error(`oracle: no purpose ${key}`);
  return purpose;
}

// ---------------------------------------------------------------------------
// Jurisdiction

/** EU and EEA member states, the UK and Switzerland. */
const GDPR_LANDS = new Set('AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO GB CH'.split(' '));

/** Trimmed and upper-cased; empty is unknown (null). */
export function normaliseJurisdiction(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const v = value.trim().toUpperCase();
  return v === '' ? null : v;
}

export function regimeFor(country: string | null | undefined, region: string | null | undefined, mode: Mode = 'per-jurisdiction'): Regime {
  if (mode === 'strictest') return 'GDPR';
  const c = normaliseJurisdiction(country);
  if (c === null) return 'NONE';
  if (GDPR_LANDS.has(c)) return 'GDPR';
  if (c !== 'US') return 'NONE';
  const r = normaliseJurisdiction(region);
  if (r === null) return 'NONE';
  return r === 'CA' ? 'CCPA' : 'US_STATE';
}

/** Under 16 at `now`, from an ISO date (YYYY-MM-DD); unknown is not a minor. */
export function minorAt(birthDate: string | null, now: Date): boolean {
  if (!birthDate) return false;
  const [y, m, d] = birthDate.split('-').map(Number);
  const sixteenth = Date.UTC(y + 16, m - 1, d);
  return sixteenth > now.getTime();
}

// ---------------------------------------------------------------------------
// Stored data

export interface ConsentRow {
  purposeKey: string;
  regime: string;
  sensitive: boolean;
  action: string;
  purposeVersion: number;
  /** Epoch milliseconds, or null for no expiry. */
  expiresAt: number | null;
}

export interface StoredCustomer {
  id: string;
  externalId: string;
  email: string;
  phone: string | null;
  firstName: string;
  lastName: string;
  birthDate: string | null;
  street: string | null;
  city: string | null;
  postalCode: string | null;
  region: string | null;
  country: string | null;
  preferredLanguage: string | null;
  segment: string | null;
  lifetimeValue: string;
  churnScore: number | null;
  riskBand: string | null;
  healthInterests: string[];
  preciseLocation: string | null;
  createdAt: string;
  /** Rank of lastName in the database's collation (equal names, equal rank). */
  lastNameRank: number;
  consents: ConsentRow[];
}

// ---------------------------------------------------------------------------
// The subject: a legal basis for the purpose, or not processed at all

export type ExclusionWhy = 'NO_CONSENT' | 'WITHDRAWN' | 'OPTED_OUT' | 'EXPIRED' | 'OUTDATED' | 'MINOR_NO_OPT_IN' | 'DENIED';

export interface Standing {
  regime: Regime;
  minor: boolean;
  basis: Basis;
  permitted: boolean;
  /** Why not, for the outcome counts; null when permitted. */
  why: ExclusionWhy | null;
}

const isGrant = (r: ConsentRow) => r.action === 'GRANT' || r.action === 'OPT_IN';
const isRefusal = (r: ConsentRow) => r.action === 'WITHDRAW' || r.action === 'OPT_OUT';

/** A grant that counts now: for the purpose's current version, not expired. */
function liveGrant(purpose: OraclePurpose, r: ConsentRow, now: Date): boolean {
  if (!isGrant(r) || r.purposeVersion !== purpose.version) return false;
  return r.expiresAt === null || r.expiresAt > now.getTime();
}

function rowsInScope(purpose: OraclePurpose, c: StoredCustomer, regime: Regime, sensitive: boolean): ConsentRow[] {
  return c.consents.filter((r) => r.purposeKey === purpose.key && r.regime === regime && r.sensitive === sensitive);
}

/** Why an opt-in is missing in `rows`, or null when one live grant is there. */
function optInMissing(purpose: OraclePurpose, rows: ConsentRow[], now: Date): ExclusionWhy | null {
  if (rows.some((r) => liveGrant(purpose, r, now))) return null;
  if (rows.length === 0) return 'NO_CONSENT';
  const r = rows[0];
  if (r.action === 'OPT_OUT') return 'OPTED_OUT';
  if (!isGrant(r)) return 'WITHDRAWN';
  if (r.purposeVersion !== purpose.version) return 'OUTDATED';
  return 'EXPIRED';
}

export function standing(purpose: OraclePurpose, c: StoredCustomer, now: Date, mode: Mode = 'per-jurisdiction'): Standing {
  const regime = regimeFor(c.country, c.region, mode);
  const minor = minorAt(c.birthDate, now);
  let basis: Basis = (purpose.basis as Record<Regime, Basis>)[regime] ?? 'DENY';
  const minorRule = 'minorsOptIn' in purpose ? (purpose.minorsOptIn as readonly string[]) : [];
  const minorUpgrade = minor && basis === 'OPT_OUT' && minorRule.includes(regime);
  if (minorUpgrade) basis = 'OPT_IN';
  const rows = rowsInScope(purpose, c, regime, false);
  let why: ExclusionWhy | null;
  switch (basis) {
    case 'CONTRACT':
      why = null;
      break;
    case 'OPT_OUT': {
      const refusal = rows.find(isRefusal);
      why = refusal ? (refusal.action === 'OPT_OUT' ? 'OPTED_OUT' : 'WITHDRAWN') : null;
      break;
    }
    case 'OPT_IN':
      why = optInMissing(purpose, rows, now);
      if (why && minorUpgrade) why = 'MINOR_NO_OPT_IN';
      break;
    default:
      why = 'DENIED';
  }
  return { regime, minor, basis, permitted: why === null, why };
}

/** Whether the purpose's sensitive basis holds for the subject (checked only for a permitted subject). */
export function sensitiveHolds(purpose: OraclePurpose, c: StoredCustomer, now: Date, mode: Mode = 'per-jurisdiction'): boolean {
  const regime = regimeFor(c.country, c.region, mode);
  const basis: Basis = (purpose.sensitiveBasis as Record<Regime, Basis>)[regime] ?? 'DENY';
  const rows = rowsInScope(purpose, c, regime, true);
  switch (basis) {
    case 'CONTRACT':
      return true;
    case 'OPT_OUT':
      return !rows.some(isRefusal);
    case 'OPT_IN':
      return optInMissing(purpose, rows, now) === null;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------
// Field tags, restated from src/schema/types/customer.ts and records.ts

export type MaskKind =
  | { strategy: 'null' }
  | { strategy: 'hmac' }
  | { strategy: 'redact' }
  | { strategy: 'partial'; kind: 'phone' }
  | { strategy: 'generalize'; kind: 'year' }
  | { strategy: 'generalize'; kind: 'prefix'; length: number }
  | { strategy: 'generalize'; kind: 'region' };

export interface OracleTag {
  serves: readonly string[];
  category: 'identifier' | 'contact' | 'demographic' | 'financial' | 'behavioural' | 'inferred' | 'sensitive';
  mask: MaskKind;
  /** For a relation: the record type and whether it is a list. */
  relation?: string;
}
/** 'surrogate-key': our random id; 'pseudonym': a per-purpose keyed token of the subject. Both come with their row. */
export type OracleFieldTag = OracleTag | 'surrogate-key' | 'pseudonym';

const CONTRACT = ['transactional', 'support'];
const ALL = ['transactional', 'support', 'marketing', 'analytics', 'personalization', 'ai_training', 'ad_sharing', 'consent_management'];
const ORDER = [...CONTRACT, 'analytics', 'personalization', 'ai_training'];
const TICKET = ['support', 'analytics', 'ai_training'];
const CONVERSATION = ['support', 'ai_training'];
const INTERACTION = ['marketing', 'analytics', 'ai_training'];
const WEB = ['analytics', 'personalization', 'ai_training', 'ad_sharing'];

const NULL: MaskKind = { strategy: 'null' };
const tag = (serves: readonly string[], category: OracleTag['category'], mask: MaskKind = NULL, relation?: string): OracleTag => ({
  serves,
  category,
  mask,
  relation,
});

export const TAGS: Record<string, Record<string, OracleFieldTag>> = {
  Customer: {
    id: 'surrogate-key',
    subjectKey: 'pseudonym',
    externalId: tag([...CONTRACT, 'marketing', 'analytics', 'ai_training'], 'identifier', { strategy: 'hmac' }),
    email: tag([...CONTRACT, 'marketing'], 'contact', { strategy: 'hmac' }),
    phone: tag([...CONTRACT, 'marketing'], 'contact', { strategy: 'partial', kind: 'phone' }),
    firstName: tag([...CONTRACT, 'marketing'], 'identifier'),
    lastName: tag([...CONTRACT, 'marketing'], 'identifier'),
    birthDate: tag(['transactional', 'marketing', 'personalization', 'ai_training'], 'demographic', {
      strategy: 'generalize',
      kind: 'year',
    }),
    street: tag(CONTRACT, 'contact', { strategy: 'redact' }),
    city: tag([...CONTRACT, 'marketing', 'analytics'], 'contact'),
    postalCode: tag([...CONTRACT, 'marketing'], 'contact', { strategy: 'generalize', kind: 'prefix', length: 2 }),
    region: tag(ALL, 'demographic'),
    country: tag(ALL, 'demographic'),
    preferredLanguage: tag([...CONTRACT, 'marketing', 'personalization'], 'demographic'),
    segment: tag(['marketing', 'analytics', 'personalization', 'ai_training', 'ad_sharing'], 'inferred'),
    lifetimeValue: tag(['support', 'marketing', 'analytics', 'ai_training'], 'financial'),
    churnScore: tag(['marketing', 'analytics', 'ai_training'], 'inferred'),
    riskBand: tag(['support', 'marketing', 'analytics', 'ai_training'], 'inferred'),
    healthInterests: tag(['support', 'marketing', 'personalization', 'ai_training'], 'sensitive'),
    preciseLocation: tag(['transactional', 'personalization', 'ad_sharing'], 'sensitive', { strategy: 'generalize', kind: 'region' }),
    createdAt: tag(ALL, 'behavioural'),
    orders: tag(ORDER, 'financial', NULL, 'Order'),
    tickets: tag(TICKET, 'behavioural', NULL, 'SupportTicket'),
    interactions: tag(INTERACTION, 'behavioural', NULL, 'MarketingInteraction'),
    webEvents: tag(WEB, 'behavioural', NULL, 'WebEvent'),
  },
  Order: {
    id: 'surrogate-key',
    number: tag(CONTRACT, 'identifier', { strategy: 'hmac' }),
    status: tag(ORDER, 'behavioural'),
    currency: tag(ORDER, 'financial'),
    total: tag(ORDER, 'financial'),
    placedAt: tag(ORDER, 'behavioural'),
    items: tag(ORDER, 'financial', NULL, 'OrderItem'),
  },
  OrderItem: {
    id: 'surrogate-key',
    sku: tag(ORDER, 'behavioural'),
    name: tag(ORDER, 'behavioural'),
    quantity: tag(ORDER, 'behavioural'),
    unitPrice: tag(ORDER, 'financial'),
  },
  SupportTicket: {
    id: 'surrogate-key',
    subject: tag(CONVERSATION, 'behavioural', { strategy: 'redact' }),
    status: tag(TICKET, 'behavioural'),
    channel: tag(TICKET, 'behavioural'),
    openedAt: tag(TICKET, 'behavioural'),
    closedAt: tag(TICKET, 'behavioural'),
    messages: tag(CONVERSATION, 'behavioural', NULL, 'TicketMessage'),
  },
  TicketMessage: {
    id: 'surrogate-key',
    author: tag(CONVERSATION, 'behavioural'),
    body: tag(CONVERSATION, 'behavioural', { strategy: 'redact' }),
    sentAt: tag(CONVERSATION, 'behavioural'),
  },
  MarketingInteraction: {
    id: 'surrogate-key',
    campaign: tag(INTERACTION, 'behavioural'),
    kind: tag(INTERACTION, 'behavioural'),
    occurredAt: tag(INTERACTION, 'behavioural'),
  },
  WebEvent: {
    id: 'surrogate-key',
    kind: tag(WEB, 'behavioural'),
    path: tag(WEB, 'behavioural'),
    device: tag(WEB, 'behavioural'),
    occurredAt: tag(WEB, 'behavioural'),
  },
};

/** Clear or masked, for a field of a subject the purpose may process. */
export function fieldOutcome(
  purpose: OraclePurpose,
  c: StoredCustomer,
  t: OracleTag,
  now: Date,
  mode: Mode = 'per-jurisdiction',
): 'clear' | 'masked' {
  if (!t.serves.includes(purpose.key)) return 'masked';
  if (t.category === 'sensitive' && !sensitiveHolds(purpose, c, now, mode)) return 'masked';
  return 'clear';
}

// ---------------------------------------------------------------------------
// Values

/** Two scalars equal as the API returns them (decimals as strings, dates as ISO strings). */
export function sameValue(actual: unknown, stored: unknown): boolean {
  if (stored === null || stored === undefined) return actual === null;
  if (Array.isArray(stored)) {
    return Array.isArray(actual) && actual.length === stored.length && stored.every((v, i) => actual[i] === v);
  }
  if (stored instanceof Decimalish) return typeof actual === 'string' && Number(actual) === Number(stored.value);
  if (stored instanceof Instant) return typeof actual === 'string' && Date.parse(actual) === stored.ms;
  return actual === stored;
}

/** A stored decimal (numeric): compared by value, not by spelling ("27" = "27.00"). */
export class Decimalish {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString() {
    return this.value;
  }
}
/** A stored timestamp: compared as an instant. */
export class Instant {
  readonly ms: number;
  readonly iso: string;
  constructor(iso: string) {
    this.iso = iso;
    this.ms = Date.parse(iso);
  }
  toString() {
    return this.iso;
  }
}

export const HMAC_TOKEN = /^hmac:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$/;

/**
 * Whether `actual` is an acceptable masked form of `clear` under `mask`: what
 * the mask promises, nothing more. Returns a problem, or null when fine.
 */
export function maskProblem(mask: MaskKind, clear: unknown, actual: unknown): string | null {
  if (clear === null || clear === undefined) return actual === null ? null : `a masked null came back as ${JSON.stringify(actual)}`;
  if (mask.strategy === 'null') return actual === null ? null : `expected null, got ${JSON.stringify(actual)}`;
  if (typeof actual !== 'string') return actual === null ? null : `expected a masked string, got ${JSON.stringify(actual)}`;
  const text = String(clear);
  if (actual === text) return `the clear value ${JSON.stringify(text)} came back unmasked`;
  if (text.length >= 3 && actual.includes(text)) return `the masked value ${JSON.stringify(actual)} contains the clear value`;
  switch (mask.strategy) {
    case 'hmac':
      return HMAC_TOKEN.test(actual) ? null : `expected an hmac token, got ${JSON.stringify(actual)}`;
    case 'redact':
      return actual === '[REDACTED]' ? null : `expected [REDACTED], got ${JSON.stringify(actual)}`;
    case 'partial': {
      const digits = text.replace(/\D/g, '');
      const expected = digits.length > 4 ? `***${digits.slice(-4)}` : '***';
      return actual === expected ? null : `expected ${expected}, got ${JSON.stringify(actual)}`;
    }
    case 'generalize':
      if (mask.kind === 'year') {
        return actual === text.slice(0, 4) ? null : `expected the year of ${text}, got ${JSON.stringify(actual)}`;
      }
      if (mask.kind === 'prefix') {
        const chars = Array.from(text.trim());
        const keep = Math.max(0, Math.min(mask.length, chars.length - 1));
        const shown = chars.slice(0, keep).join('');
        const rest = actual.slice(shown.length);
        return actual.startsWith(shown) && /^\**$/.test(rest) && Array.from(actual).length <= chars.length
          ? null
          : `expected ${shown} and stars, got ${JSON.stringify(actual)}`;
      }
      {
        // A coarse region: whole degrees around the precise point.
        const m = /^(-?\d+),(-?\d+)$/.exec(actual);
        const [lat, lon] = text.split(',').map(Number);
        if (!m) return `expected a coarse "lat,lon", got ${JSON.stringify(actual)}`;
        return Math.abs(Number(m[1]) - lat) <= 0.5 && Math.abs(Number(m[2]) - lon) <= 0.5
          ? null
          : `the region ${actual} is not around ${text}`;
      }
  }
}

// ---------------------------------------------------------------------------
// Lists: filters, order, keyset pages

export interface OracleFilter {
  country?: string;
  region?: string;
  segment?: string;
  riskBand?: string;
}
export type OrderField = 'CREATED_AT' | 'LIFETIME_VALUE' | 'CHURN_SCORE' | 'LAST_NAME';
export interface OracleOrder {
  field: OrderField;
  direction: 'ASC' | 'DESC';
}

/** The Customer field behind each filter and sort field. */
export const FILTER_FIELD: Record<keyof OracleFilter, string> = {
  country: 'country',
  region: 'region',
  segment: 'segment',
  riskBand: 'riskBand',
};
export const ORDER_FIELD: Record<OrderField, string> = {
  CREATED_AT: 'createdAt',
  LIFETIME_VALUE: 'lifetimeValue',
  CHURN_SCORE: 'churnScore',
  LAST_NAME: 'lastName',
};

/** Whether the purpose may filter/sort by these: each field must serve it. */
export function listAllowed(purpose: OraclePurpose, filter: OracleFilter, order: OracleOrder | null): boolean {
  const fields = Object.keys(filter).map((k) => FILTER_FIELD[k as keyof OracleFilter]);
  if (order) fields.push(ORDER_FIELD[order.field]);
  return fields.every((f) => {
    const t = TAGS.Customer[f];
    return typeof t !== 'string' && t.serves.includes(purpose.key);
  });
}

export function matchesFilter(c: StoredCustomer, filter: OracleFilter): boolean {
  if (filter.country !== undefined && c.country !== filter.country.trim().toUpperCase()) return false;
  if (filter.region !== undefined && c.region !== filter.region.trim().toUpperCase()) return false;
  if (filter.segment !== undefined && c.segment !== filter.segment) return false;
  if (filter.riskBand !== undefined && c.riskBand !== filter.riskBand) return false;
  return true;
}

/** The forward order of a list: the sort field (churn score: unknown last in both directions), then the id. */
export function comparator(order: OracleOrder | null): (a: StoredCustomer, b: StoredCustomer) => number {
  const byId = (a: StoredCustomer, b: StoredCustomer) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  if (!order) return byId;
  const sign = order.direction === 'DESC' ? -1 : 1;
  const key = (c: StoredCustomer): number | null => {
    switch (order.field) {
      case 'CREATED_AT':
        return Date.parse(c.createdAt);
      case 'LIFETIME_VALUE':
        return Number(c.lifetimeValue);
      case 'CHURN_SCORE':
        return c.churnScore;
      case 'LAST_NAME':
        return c.lastNameRank;
    }
  };
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka === null || kb === null) {
      if (ka !== kb) return ka === null ? 1 : -1;
    } else if (ka !== kb) {
      return ka < kb ? -sign : sign;
    }
    return byId(a, b);
  };
}

export interface OraclePage {
  nodes: StoredCustomer[];
  /** Rows beyond the page in its direction. */
  more: boolean;
  total: number;
}

/**
 * A keyset page over `sorted` (in forward order): `size` rows strictly after
 * (or, backward, strictly before) the anchor's position, in forward order.
 */
export function keysetPage(
  sorted: readonly StoredCustomer[],
  cmp: (a: StoredCustomer, b: StoredCustomer) => number,
  anchor: StoredCustomer | null,
  size: number,
  backward: boolean,
): OraclePage {
  if (!backward) {
    const start = anchor ? countWhile(sorted, (c) => cmp(c, anchor) <= 0) : 0;
    return { nodes: sorted.slice(start, start + size), more: sorted.length - start > size, total: sorted.length };
  }
  const end = anchor ? countWhile(sorted, (c) => cmp(c, anchor) < 0) : sorted.length;
  const start = Math.max(0, end - size);
  return { nodes: sorted.slice(start, end), more: start > 0, total: sorted.length };
}

function countWhile<T>(items: readonly T[], pred: (t: T) => boolean): number {
  let i = 0;
  while (i < items.length && pred(items[i])) i++;
  return i;
}
