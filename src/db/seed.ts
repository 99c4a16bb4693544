import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PURPOSES, type PurposeKey } from '../policy/taxonomy.ts';
import { regimeOf } from '../policy/regime.ts';
import type { ConsentAction, Regime } from '../policy/types.ts';
import { DEMO_CLIENTS, hashApiKey } from './demo-clients.ts';

// The demo data set: a realistic CRM with varied consent histories, generated
// deterministically (a seeded PRNG (sfc32), UUIDs drawn from it, one fixed reference
// date) so that every run, on every machine, writes exactly the same rows.
// Each customer draws from its own PRNG stream (seeded by its index), so the
// first N customers are the same whatever the total.
//
// Speed: every table is written with multi-row `INSERT ... SELECT FROM
// unnest($1::uuid[], $2::text[], ...)` statements of a few thousand rows each,
// all inside one transaction; consent_state is then derived from the ledger in
// SQL.

/**
 * One database session: a `pg.Client`, a client from `pool.connect()`, or PGlite
 * behind `pgliteClient`. A `pg.Pool` is accepted too: `seed` then checks out one
 * client for its transaction (a pool would spread BEGIN and COMMIT over
 * different connections).
 */
export interface SeedClient {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

interface PoolLike extends SeedClient {
  connect(): Promise<SeedClient & { release(err?: Error | boolean): void }>;
  readonly idleCount: number;
  readonly totalCount: number;
}

function isPool(client: SeedClient): client is PoolLike {
  const c = client as Partial<PoolLike>;
  return typeof c.connect === 'function' && typeof c.idleCount === 'number' && typeof c.totalCount === 'number';
}

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

/** "Now" for the demo data: every timestamp in the seed is relative to it. */
export const SEED_REFERENCE_DATE = new Date('2026-11-01T00:00:00.000Z');
export const DEFAULT_SEED_CUSTOMERS = 5000;
const SEED_NAME = 'consentql-demo-v1';
const BATCH_ROWS = 4000;

const NOW = SEED_REFERENCE_DATE.getTime();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

export const SEED_TABLES = [
  'purpose',
  'api_client',
  'customer',
  'order',
  'order_item',
  'support_ticket',
  'ticket_message',
  'marketing_interaction',
  'web_event',
  'consent_event',
  'consent_state',
] as const;
export type SeedTable = (typeof SEED_TABLES)[number];

/** Every application table, children first (what `reset` empties). */
const ALL_TABLES = [
  'webhook_delivery',
  'webhook_subscription',
  'outbox_event',
  'access_record',
  'consent_state',
  'consent_event',
  'ticket_message',
  'support_ticket',
  'order_item',
  'order',
  'marketing_interaction',
  'web_event',
  'customer',
  'api_client',
  'purpose',
] as const;

export class SeedRefusedError extends Error {
  readonly code = 'SEED_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'SeedRefusedError';
  }
}

// ------------------------------------------------------------------ personas

export interface DemoPersona {
  externalId: string;
  firstName: string;
  lastName: string;
  email: string;
  country: string | null;
  region: string | null;
  /** What the persona demonstrates (README, end-to-end tests). */
  demonstrates: string;
}

interface PersonaConsent {
  purposeKey: PurposeKey;
  action: ConsentAction;
  source: ConsentSource;
  at: string;
  expiresAt?: string;
  sensitive?: boolean;
}

interface PersonaSpec extends DemoPersona {
  place: string;
  birthDate: string | null;
  language: string | null;
  segment: string;
  healthInterests: string[];
  preciseLocation: string | null;
  createdAt: string;
  consents: PersonaConsent[];
  ticketTopic?: TopicKey;
}

const PERSONA_SPECS: PersonaSpec[] = [
  {
    externalId: 'CRM-EU-NO-MARKETING',
    firstName: 'Lena',
    lastName: 'Schmidt',
    email: 'lena.schmidt@example.com',
    country: 'DE',
    region: 'Berlin',
    place: 'Berlin',
    birthDate: '1988-04-12',
    language: 'de',
    segment: 'loyal',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2023-02-11T09:14:00.000Z',
    consents: [],
    demonstrates:
      'GDPR (DE) with no consent events at all: marketing and every other opt-in purpose are masked; transactional and support data stay visible.',
    ticketTopic: 'delivery',
  },
  {
    externalId: 'CRM-EU-MARKETING',
    firstName: 'Camille',
    lastName: 'Martin',
    email: 'camille.martin@example.com',
    country: 'FR',
    region: 'Île-de-France',
    place: 'Paris',
    birthDate: '1991-09-03',
    language: 'fr',
    segment: 'vip',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2022-05-20T17:40:00.000Z',
    consents: [{ purposeKey: 'marketing', action: 'GRANT', source: 'CONSENT_CENTER', at: '2026-04-10T08:30:00.000Z' }],
    demonstrates: 'GDPR (FR) with a current marketing grant (version 1, no expiry): visible for marketing, masked for other opt-in purposes.',
    ticketTopic: 'size',
  },
  {
    externalId: 'CRM-CA-DEFAULT',
    firstName: 'Emily',
    lastName: 'Johnson',
    email: 'emily.johnson@example.com',
    country: 'US',
    region: 'CA',
    place: 'Los Angeles',
    birthDate: '1985-06-21',
    language: 'en',
    segment: 'loyal',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2021-10-02T20:05:00.000Z',
    consents: [],
    demonstrates:
      'CCPA (California) adult who never opted out of anything: opt-out purposes (marketing, analytics, personalization, ad_sharing) are allowed; ai_training is not (opt-in everywhere).',
    ticketTopic: 'refund',
  },
  {
    externalId: 'CRM-CA-GPC',
    firstName: 'Michael',
    lastName: 'Garcia',
    email: 'michael.garcia@example.com',
    country: 'US',
    region: 'CA',
    place: 'San Francisco',
    birthDate: '1979-11-30',
    language: 'en',
    segment: 'at_risk',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2020-08-14T15:22:00.000Z',
    consents: [{ purposeKey: 'ad_sharing', action: 'OPT_OUT', source: 'GPC', at: '2026-07-02T19:47:00.000Z' }],
    demonstrates:
      'CCPA (California) with a Global Privacy Control opt-out of ad_sharing and nothing else: masked for ad_sharing, visible for marketing and analytics.',
    ticketTopic: 'damaged',
  },
  {
    externalId: 'CRM-CA-MINOR',
    firstName: 'Sophia',
    lastName: 'Nguyen',
    email: 'sophia.nguyen@example.com',
    country: 'US',
    region: 'CA',
    place: 'San Diego',
    birthDate: '2011-03-15',
    language: 'en',
    segment: 'new',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2026-06-30T16:10:00.000Z',
    consents: [],
    demonstrates:
      'CCPA (California), 15 years old at the reference date: ad_sharing needs an opt-in for under-16s, so it is masked although she never opted out.',
    ticketTopic: 'account',
  },
  {
    externalId: 'CRM-EU-AI-TRAINING',
    firstName: 'Aoife',
    lastName: 'Murphy',
    email: 'aoife.murphy@example.com',
    country: 'IE',
    region: 'Leinster',
    place: 'Dublin',
    birthDate: '1993-02-14',
    language: 'en',
    segment: 'loyal',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2022-11-28T11:00:00.000Z',
    consents: [{ purposeKey: 'ai_training', action: 'GRANT', source: 'CONSENT_CENTER', at: '2026-05-20T10:12:00.000Z' }],
    demonstrates: 'GDPR (IE) with an ai_training grant: included in the churn-model training set (row exclusion lets her through).',
    ticketTopic: 'delivery',
  },
  {
    externalId: 'CRM-EU-WITHDRAWN',
    firstName: 'Daan',
    lastName: 'de Vries',
    email: 'daan.devries@example.com',
    country: 'NL',
    region: 'North Holland',
    place: 'Amsterdam',
    birthDate: '1987-07-08',
    language: 'nl',
    segment: 'dormant',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2021-03-09T07:55:00.000Z',
    consents: [
      { purposeKey: 'marketing', action: 'GRANT', source: 'CONSENT_CENTER', at: '2025-11-03T12:00:00.000Z' },
      { purposeKey: 'marketing', action: 'WITHDRAW', source: 'EMAIL_LINK', at: '2026-08-14T06:31:00.000Z' },
    ],
    demonstrates: 'GDPR (NL): marketing granted, then withdrawn through an email unsubscribe link; the withdrawal wins, marketing is masked.',
    ticketTopic: 'refund',
  },
  {
    externalId: 'CRM-EU-EXPIRED',
    firstName: 'Lucía',
    lastName: 'García',
    email: 'lucia.garcia@example.com',
    country: 'ES',
    region: 'Community of Madrid',
    place: 'Madrid',
    birthDate: '1990-12-01',
    language: 'es',
    segment: 'at_risk',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2022-01-17T13:45:00.000Z',
    consents: [
      {
        purposeKey: 'analytics',
        action: 'GRANT',
        source: 'API',
        at: '2024-06-10T09:00:00.000Z',
        expiresAt: '2025-07-10T09:00:00.000Z',
      },
    ],
    demonstrates: 'GDPR (ES) with an analytics grant that expired in July 2025: treated as no consent, analytics masked.',
    ticketTopic: 'address',
  },
  {
    externalId: 'CRM-VA-SENSITIVE',
    firstName: 'James',
    lastName: 'Williams',
    email: 'james.williams@example.com',
    country: 'US',
    region: 'VA',
    place: 'Richmond',
    birthDate: '1975-03-09',
    language: 'en',
    segment: 'vip',
    healthInterests: ['diabetes care', 'heart health'],
    preciseLocation: '37.5407,-77.4360',
    createdAt: '2020-04-22T18:30:00.000Z',
    consents: [],
    demonstrates:
      'US state (VA) with health interests and a precise location but no sensitive-data opt-in: ordinary data visible for opt-out purposes, sensitive fields masked.',
    ticketTopic: 'health',
  },
  {
    externalId: 'CRM-UNKNOWN',
    firstName: 'Alex',
    lastName: 'Morgan',
    email: 'alex.morgan@example.net',
    country: null,
    region: null,
    place: '',
    birthDate: null,
    language: null,
    segment: 'new',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2026-07-19T22:03:00.000Z',
    consents: [],
    demonstrates: 'Country unknown: regime NONE, treated as the strictest; every opt-in purpose masked.',
    ticketTopic: 'account',
  },
];

/** The named demo personas, inserted before the generated customers with fixed external ids. */
export const DEMO_PERSONAS: readonly DemoPersona[] = PERSONA_SPECS.map(
  ({ externalId, firstName, lastName, email, country, region, demonstrates }) => ({
    externalId,
    firstName,
    lastName,
    email,
    country,
    region,
    demonstrates,
  }),
);

// ------------------------------------------------------------------ PRNG

/**
 * sfc32 (Small Fast Counter): a seedable PRNG with 128 bits of state, returning
 * uint32s. Not mulberry32: its 32-bit state makes per-customer streams overlap
 * and UUIDs drawn from it collide after ~100k (the birthday bound of 2^32).
 */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

/** cyrb128: four 32-bit seeds from a string. */
function seedOf(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

class Rng {
  private readonly u32: () => number;
  constructor(seed: string) {
    this.u32 = sfc32(...seedOf(seed));
    // Warm up: the first outputs of sfc32 still echo the seed.
    for (let i = 0; i < 12; i++) this.u32();
  }
  private next(): number {
    return this.u32() / 4294967296;
  }
  float(min = 0, max = 1): number {
    return min + this.next() * (max - min);
  }
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1][0];
  }
  /** k distinct items. */
  sample<T>(items: readonly T[], k: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < k && pool.length > 0) out.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]);
    return out;
  }
  /** A time in [from, to] (ms), whole seconds. */
  time(from: number, to: number): number {
    if (to <= from) return from;
    return Math.floor(this.float(from, to) / 1000) * 1000;
  }
  digits(pattern: string): string {
    return pattern.replace(/#/g, () => String(this.int(0, 9))).replace(/@/g, () => 'ABCDEFGHJKLMNPRSTVWXY'[this.int(0, 20)]);
  }
  /** A version-4 UUID from the PRNG stream (122 random bits). */
  uuid(): string {
    const b = new Array<number>(16);
    for (let i = 0; i < 16; i += 4) {
      const w = this.u32();
      b[i] = w >>> 24;
      b[i + 1] = (w >>> 16) & 0xff;
      b[i + 2] = (w >>> 8) & 0xff;
      b[i + 3] = w & 0xff;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.map((x) => HEX[x]);
    return `${h[0]}${h[1]}${h[2]}${h[3]}-${h[4]}${h[5]}-${h[6]}${h[7]}-${h[8]}${h[9]}-${h[10]}${h[11]}${h[12]}${h[13]}${h[14]}${h[15]}`;
  }
}

// ------------------------------------------------------------------ reference data

interface Place {
  city: string;
  region: string | null;
  postal: string;
  lat: number;
  lon: number;
  phone?: string;
  language?: string;
}

interface CountryProfile {
  code: string;
  language: string;
  currency: string;
  phone: string;
  first: string[];
  last: string[];
  places: Place[];
  streets: string[];
  address: (rng: Rng, street: string) => string;
}

const numberAfter = (rng: Rng, street: string) => `${street} ${rng.int(1, 140)}`;
const numberBefore = (rng: Rng, street: string) => `${rng.int(1, 220)} ${street}`;

const COUNTRIES: Record<string, CountryProfile> = {
  DE: {
    code: 'DE',
    language: 'de',
    currency: 'EUR',
    phone: '+49 15# #######',
    first: ['Lena', 'Jonas', 'Mia', 'Lukas', 'Hannah', 'Felix', 'Emma', 'Leon', 'Sophie', 'Paul', 'Anna', 'Maximilian', 'Laura', 'Tim', 'Julia', 'Moritz'],
    last: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Hoffmann', 'Schulz', 'Koch', 'Richter', 'Klein', 'Wolf', 'Neumann'],
    places: [
      { city: 'Berlin', region: 'Berlin', postal: '10###', lat: 52.52, lon: 13.405 },
      { city: 'Munich', region: 'Bavaria', postal: '80###', lat: 48.1351, lon: 11.582 },
      { city: 'Hamburg', region: 'Hamburg', postal: '20###', lat: 53.5511, lon: 9.9937 },
      { city: 'Cologne', region: 'North Rhine-Westphalia', postal: '50###', lat: 50.9375, lon: 6.9603 },
      { city: 'Frankfurt am Main', region: 'Hesse', postal: '60###', lat: 50.1109, lon: 8.6821 },
      { city: 'Leipzig', region: 'Saxony', postal: '04###', lat: 51.3397, lon: 12.3731 },
    ],
    streets: ['Hauptstraße', 'Bahnhofstraße', 'Gartenweg', 'Schillerstraße', 'Lindenallee', 'Goethestraße', 'Kastanienallee'],
    address: numberAfter,
  },
  FR: {
    code: 'FR',
    language: 'fr',
    currency: 'EUR',
    phone: '+33 6 ## ## ## ##',
    first: ['Camille', 'Louis', 'Chloé', 'Hugo', 'Léa', 'Gabriel', 'Manon', 'Arthur', 'Inès', 'Jules', 'Sarah', 'Lucas', 'Zoé', 'Raphaël'],
    last: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Simon', 'Laurent', 'Lefèvre', 'Garnier'],
    places: [
      { city: 'Paris', region: 'Île-de-France', postal: '750##', lat: 48.8566, lon: 2.3522 },
      { city: 'Lyon', region: 'Auvergne-Rhône-Alpes', postal: '6900#', lat: 45.764, lon: 4.8357 },
      { city: 'Marseille', region: "Provence-Alpes-Côte d'Azur", postal: '130##', lat: 43.2965, lon: 5.3698 },
      { city: 'Toulouse', region: 'Occitanie', postal: '310##', lat: 43.6047, lon: 1.4442 },
      { city: 'Bordeaux', region: 'Nouvelle-Aquitaine', postal: '330##', lat: 44.8378, lon: -0.5792 },
    ],
    streets: ['rue de la République', 'avenue Victor Hugo', 'rue du Faubourg Saint-Antoine', 'boulevard Voltaire', 'rue Nationale', 'rue des Lilas'],
    address: numberBefore,
  },
  IE: {
    code: 'IE',
    language: 'en',
    currency: 'EUR',
    phone: '+353 8# ### ####',
    first: ['Aoife', 'Conor', 'Saoirse', 'Seán', 'Niamh', 'Cian', 'Ciara', 'Darragh', 'Róisín', 'Oisín', 'Emma', 'Jack'],
    last: ['Murphy', 'Kelly', "O'Sullivan", 'Walsh', 'Smith', "O'Brien", 'Byrne', 'Ryan', "O'Connor", "O'Neill", 'Doyle', 'McCarthy'],
    places: [
      { city: 'Dublin', region: 'Leinster', postal: 'D0# @###', lat: 53.3498, lon: -6.2603 },
      { city: 'Cork', region: 'Munster', postal: 'T12 @###', lat: 51.8985, lon: -8.4756 },
      { city: 'Galway', region: 'Connacht', postal: 'H91 @###', lat: 53.2707, lon: -9.0568 },
      { city: 'Limerick', region: 'Munster', postal: 'V94 @###', lat: 52.6638, lon: -8.6267 },
    ],
    streets: ['Main Street', 'Church Road', 'Grafton Street', 'Patrick Street', 'Shop Street', 'Strand Road'],
    address: numberBefore,
  },
  NL: {
    code: 'NL',
    language: 'nl',
    currency: 'EUR',
    phone: '+31 6 ########',
    first: ['Daan', 'Emma', 'Sem', 'Julia', 'Lucas', 'Sophie', 'Finn', 'Tess', 'Levi', 'Anna', 'Milan', 'Sara'],
    last: ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Visser', 'Smit', 'Meijer', 'de Boer', 'Mulder', 'Bos'],
    places: [
      { city: 'Amsterdam', region: 'North Holland', postal: '10## @@', lat: 52.3676, lon: 4.9041 },
      { city: 'Rotterdam', region: 'South Holland', postal: '30## @@', lat: 51.9244, lon: 4.4777 },
      { city: 'Utrecht', region: 'Utrecht', postal: '35## @@', lat: 52.0907, lon: 5.1214 },
      { city: 'Eindhoven', region: 'North Brabant', postal: '56## @@', lat: 51.4416, lon: 5.4697 },
    ],
    streets: ['Kerkstraat', 'Dorpsstraat', 'Prinsengracht', 'Stationsweg', 'Molenweg', 'Julianalaan'],
    address: numberAfter,
  },
  ES: {
    code: 'ES',
    language: 'es',
    currency: 'EUR',
    phone: '+34 6## ### ###',
    first: ['Lucía', 'Hugo', 'Martina', 'Mateo', 'Sofía', 'Martín', 'Julia', 'Pablo', 'Paula', 'Daniel', 'Valeria', 'Alejandro'],
    last: ['García', 'Rodríguez', 'González', 'Fernández', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Gómez', 'Martín', 'Jiménez', 'Ruiz'],
    places: [
      { city: 'Madrid', region: 'Community of Madrid', postal: '280##', lat: 40.4168, lon: -3.7038 },
      { city: 'Barcelona', region: 'Catalonia', postal: '080##', lat: 41.3874, lon: 2.1686, language: 'ca' },
      { city: 'Valencia', region: 'Valencian Community', postal: '460##', lat: 39.4699, lon: -0.3763 },
      { city: 'Seville', region: 'Andalusia', postal: '410##', lat: 37.3891, lon: -5.9845 },
    ],
    streets: ['Calle Mayor', 'Calle de Alcalá', 'Avenida de la Constitución', 'Calle Real', 'Paseo de Gracia', 'Calle del Sol'],
    address: numberAfter,
  },
  IT: {
    code: 'IT',
    language: 'it',
    currency: 'EUR',
    phone: '+39 3## ### ####',
    first: ['Giulia', 'Leonardo', 'Sofia', 'Francesco', 'Aurora', 'Alessandro', 'Alice', 'Lorenzo', 'Ginevra', 'Mattia', 'Emma', 'Tommaso'],
    last: ['Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Ricci', 'Marino', 'Greco', 'Bruno', 'Gallo'],
    places: [
      { city: 'Rome', region: 'Lazio', postal: '001##', lat: 41.9028, lon: 12.4964 },
      { city: 'Milan', region: 'Lombardy', postal: '201##', lat: 45.4642, lon: 9.19 },
      { city: 'Naples', region: 'Campania', postal: '801##', lat: 40.8518, lon: 14.2681 },
      { city: 'Turin', region: 'Piedmont', postal: '101##', lat: 45.0703, lon: 7.6869 },
      { city: 'Bologna', region: 'Emilia-Romagna', postal: '401##', lat: 44.4949, lon: 11.3426 },
    ],
    streets: ['Via Roma', 'Via Garibaldi', 'Corso Vittorio Emanuele II', 'Via Dante', 'Via Mazzini', 'Via Verdi'],
    address: numberAfter,
  },
  PL: {
    code: 'PL',
    language: 'pl',
    currency: 'PLN',
    phone: '+48 5## ### ###',
    first: ['Zuzanna', 'Jakub', 'Julia', 'Antoni', 'Zofia', 'Jan', 'Hanna', 'Szymon', 'Maja', 'Filip', 'Lena', 'Aleksander'],
    last: ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kowalczyk', 'Kamiński', 'Lewandowski', 'Zieliński', 'Szymański', 'Woźniak', 'Dąbrowski', 'Mazur'],
    places: [
      { city: 'Warsaw', region: 'Masovian', postal: '0#-###', lat: 52.2297, lon: 21.0122 },
      { city: 'Kraków', region: 'Lesser Poland', postal: '3#-###', lat: 50.0647, lon: 19.945 },
      { city: 'Wrocław', region: 'Lower Silesian', postal: '5#-###', lat: 51.1079, lon: 17.0385 },
      { city: 'Gdańsk', region: 'Pomeranian', postal: '80-###', lat: 54.352, lon: 18.6466 },
    ],
    streets: ['ul. Marszałkowska', 'ul. Długa', 'ul. Floriańska', 'ul. Piotrkowska', 'ul. Świętojańska', 'ul. Ogrodowa'],
    address: numberAfter,
  },
  GB: {
    code: 'GB',
    language: 'en',
    currency: 'GBP',
    phone: '+44 7### ######',
    first: ['Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Noah', 'Olivia', 'Jack', 'Emily', 'Charlie', 'Grace'],
    last: ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Evans', 'Thomas', 'Roberts', 'Walker'],
    places: [
      { city: 'London', region: 'England', postal: 'E1 #@@', lat: 51.5072, lon: -0.1276 },
      { city: 'Manchester', region: 'England', postal: 'M1 #@@', lat: 53.4808, lon: -2.2426 },
      { city: 'Edinburgh', region: 'Scotland', postal: 'EH1 #@@', lat: 55.9533, lon: -3.1883 },
      { city: 'Cardiff', region: 'Wales', postal: 'CF10 #@@', lat: 51.4816, lon: -3.1791 },
    ],
    streets: ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Park Avenue', 'Mill Lane'],
    address: numberBefore,
  },
  CH: {
    code: 'CH',
    language: 'de',
    currency: 'CHF',
    phone: '+41 7# ### ## ##',
    first: ['Noah', 'Mia', 'Luca', 'Emma', 'Leon', 'Lina', 'Matteo', 'Elena', 'Liam', 'Sofia'],
    last: ['Müller', 'Meier', 'Schmid', 'Keller', 'Weber', 'Huber', 'Schneider', 'Steiner', 'Rochat', 'Favre'],
    places: [
      { city: 'Zurich', region: 'Zurich', postal: '80##', lat: 47.3769, lon: 8.5417 },
      { city: 'Geneva', region: 'Geneva', postal: '12##', lat: 46.2044, lon: 6.1432, language: 'fr' },
      { city: 'Basel', region: 'Basel-Stadt', postal: '40##', lat: 47.5596, lon: 7.5886 },
      { city: 'Bern', region: 'Bern', postal: '30##', lat: 46.948, lon: 7.4474 },
    ],
    streets: ['Bahnhofstrasse', 'Marktgasse', 'Freie Strasse', 'Seestrasse', 'Kirchweg'],
    address: numberAfter,
  },
  US: {
    code: 'US',
    language: 'en',
    currency: 'USD',
    phone: '+1 ###-555-01##',
    first: ['Emily', 'Michael', 'Olivia', 'James', 'Sophia', 'Daniel', 'Ava', 'Ethan', 'Madison', 'Jacob', 'Isabella', 'Noah', 'Maria', 'José', 'Wei', 'Priya', 'Aaliyah', 'Tyler'],
    last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Nguyen', 'Kim', 'Patel', 'Anderson', 'Thompson', 'Lee'],
    places: [
      { city: 'Los Angeles', region: 'CA', postal: '900##', lat: 34.0522, lon: -118.2437, phone: '+1 213-555-01##' },
      { city: 'San Francisco', region: 'CA', postal: '941##', lat: 37.7749, lon: -122.4194, phone: '+1 415-555-01##' },
      { city: 'San Diego', region: 'CA', postal: '921##', lat: 32.7157, lon: -117.1611, phone: '+1 619-555-01##' },
      { city: 'Sacramento', region: 'CA', postal: '958##', lat: 38.5816, lon: -121.4944, phone: '+1 916-555-01##' },
      { city: 'San Jose', region: 'CA', postal: '951##', lat: 37.3382, lon: -121.8863, phone: '+1 408-555-01##' },
      { city: 'Oakland', region: 'CA', postal: '946##', lat: 37.8044, lon: -122.2712, phone: '+1 510-555-01##' },
      { city: 'Richmond', region: 'VA', postal: '232##', lat: 37.5407, lon: -77.436, phone: '+1 804-555-01##' },
      { city: 'Arlington', region: 'VA', postal: '222##', lat: 38.8816, lon: -77.091, phone: '+1 703-555-01##' },
      { city: 'Denver', region: 'CO', postal: '802##', lat: 39.7392, lon: -104.9903, phone: '+1 303-555-01##' },
      { city: 'Hartford', region: 'CT', postal: '061##', lat: 41.7658, lon: -72.6734, phone: '+1 860-555-01##' },
      { city: 'Austin', region: 'TX', postal: '787##', lat: 30.2672, lon: -97.7431, phone: '+1 512-555-01##' },
      { city: 'Houston', region: 'TX', postal: '770##', lat: 29.7604, lon: -95.3698, phone: '+1 713-555-01##' },
      { city: 'Portland', region: 'OR', postal: '972##', lat: 45.5152, lon: -122.6784, phone: '+1 503-555-01##' },
      { city: 'Salt Lake City', region: 'UT', postal: '841##', lat: 40.7608, lon: -111.891, phone: '+1 801-555-01##' },
      { city: 'New York', region: 'NY', postal: '100##', lat: 40.7128, lon: -74.006, phone: '+1 212-555-01##' },
      { city: 'Brooklyn', region: 'NY', postal: '112##', lat: 40.6782, lon: -73.9442, phone: '+1 718-555-01##' },
      { city: 'Seattle', region: 'WA', postal: '981##', lat: 47.6062, lon: -122.3321, phone: '+1 206-555-01##' },
      { city: 'Miami', region: 'FL', postal: '331##', lat: 25.7617, lon: -80.1918, phone: '+1 305-555-01##' },
      { city: 'Orlando', region: 'FL', postal: '328##', lat: 28.5384, lon: -81.3789, phone: '+1 407-555-01##' },
    ],
    streets: ['Main St', 'Oak Ave', 'Maple Dr', 'Elm St', 'Park Blvd', 'Washington Ave', 'Cedar Ln', 'Sunset Blvd', 'Lincoln Way'],
    address: (rng, street) => `${rng.int(100, 9899)} ${street}`,
  },
  JP: {
    code: 'JP',
    language: 'ja',
    currency: 'JPY',
    phone: '+81 90-####-####',
    first: ['Haruto', 'Yui', 'Sota', 'Hina', 'Yuto', 'Aoi', 'Ren', 'Sakura'],
    last: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura'],
    places: [
      { city: 'Tokyo', region: 'Tokyo', postal: '1##-####', lat: 35.6762, lon: 139.6503 },
      { city: 'Osaka', region: 'Osaka', postal: '5##-####', lat: 34.6937, lon: 135.5023 },
    ],
    streets: ['Jingumae', 'Shinjuku', 'Umeda', 'Namba'],
    address: (rng, street) => `${rng.int(1, 6)}-${rng.int(1, 30)}-${rng.int(1, 20)} ${street}`,
  },
  BR: {
    code: 'BR',
    language: 'pt',
    currency: 'BRL',
    phone: '+55 11 9####-####',
    first: ['Miguel', 'Helena', 'Arthur', 'Alice', 'Gael', 'Laura', 'Heitor', 'Valentina'],
    last: ['Silva', 'Santos', 'Oliveira', 'Souza', 'Rodrigues', 'Ferreira', 'Alves', 'Pereira'],
    places: [
      { city: 'São Paulo', region: 'São Paulo', postal: '01###-###', lat: -23.5558, lon: -46.6396 },
      { city: 'Rio de Janeiro', region: 'Rio de Janeiro', postal: '20###-###', lat: -22.9068, lon: -43.1729 },
    ],
    streets: ['Rua Augusta', 'Avenida Paulista', 'Rua das Laranjeiras', 'Rua Oscar Freire'],
    address: (rng, street) => `${street}, ${rng.int(10, 2400)}`,
  },
};

/** Where the customers live: ~50% EU/UK/CH, ~20% California, ~25% other US states, ~5% other or unknown. */
type Home = { country: string | null; region?: string | null };
const HOMES: readonly (readonly [Home, number])[] = [
  [{ country: 'DE' }, 13],
  [{ country: 'FR' }, 9],
  [{ country: 'IE' }, 4],
  [{ country: 'NL' }, 5],
  [{ country: 'ES' }, 6],
  [{ country: 'IT' }, 6],
  [{ country: 'PL' }, 4],
  [{ country: 'GB' }, 2],
  [{ country: 'CH' }, 1],
  [{ country: 'US', region: 'CA' }, 20],
  [{ country: 'US', region: 'NY' }, 4],
  [{ country: 'US', region: 'TX' }, 4],
  [{ country: 'US', region: 'FL' }, 3],
  [{ country: 'US', region: 'WA' }, 3],
  [{ country: 'US', region: 'VA' }, 3],
  [{ country: 'US', region: 'CO' }, 2],
  [{ country: 'US', region: 'OR' }, 2],
  [{ country: 'US', region: 'CT' }, 2],
  [{ country: 'US', region: 'UT' }, 2],
  [{ country: 'US', region: null }, 1],
  [{ country: null }, 2],
  [{ country: 'JP' }, 1],
  [{ country: 'BR' }, 1],
];

const CURRENCY_RATE: Record<string, number> = { EUR: 1, USD: 1.1, GBP: 0.85, CHF: 0.95, PLN: 4.3, JPY: 160, BRL: 5.8 };

const HEALTH_INTERESTS = [
  'diabetes care',
  'pregnancy',
  'sleep',
  'heart health',
  'allergies',
  'mental wellbeing',
  'weight management',
  'fertility',
  'menopause',
  'migraine',
] as const;

interface Product {
  sku: string;
  name: string;
  price: number;
  health?: string;
}

const PRODUCTS: Product[] = [
  { sku: 'APP-TSHIRT', name: 'Organic cotton T-shirt', price: 24.9 },
  { sku: 'APP-HOODIE', name: 'Recycled fleece hoodie', price: 59 },
  { sku: 'APP-JEANS', name: 'Slim fit jeans', price: 79 },
  { sku: 'APP-SNEAKER', name: 'Everyday sneakers', price: 89 },
  { sku: 'APP-RAINJKT', name: 'Packable rain jacket', price: 99 },
  { sku: 'APP-SOCKS3', name: 'Merino socks (3 pack)', price: 19.5 },
  { sku: 'HOM-MUG', name: 'Stoneware mug', price: 14 },
  { sku: 'HOM-BLANKET', name: 'Wool throw blanket', price: 69 },
  { sku: 'HOM-LAMP', name: 'Reading lamp', price: 45 },
  { sku: 'HOM-PILLOW', name: 'Memory foam pillow', price: 39, health: 'sleep' },
  { sku: 'BTY-SERUM', name: 'Vitamin C serum', price: 32 },
  { sku: 'BTY-SPF50', name: 'Mineral sunscreen SPF 50', price: 18.5 },
  { sku: 'KIT-BOTTLE', name: 'Insulated water bottle', price: 27 },
  { sku: 'KIT-BLENDER', name: 'Personal blender', price: 49 },
  { sku: 'OUT-YOGAMAT', name: 'Cork yoga mat', price: 55 },
  { sku: 'OUT-DAYPACK', name: 'Daypack 20L', price: 65 },
  { sku: 'HLT-GLUCO50', name: 'Glucose test strips (50)', price: 29.9, health: 'diabetes care' },
  { sku: 'HLT-DIASOCK', name: 'Diabetic comfort socks', price: 18, health: 'diabetes care' },
  { sku: 'HLT-PRENATAL', name: 'Prenatal vitamins (90 days)', price: 24, health: 'pregnancy' },
  { sku: 'HLT-MATPILLOW', name: 'Maternity support pillow', price: 54, health: 'pregnancy' },
  { sku: 'HLT-SLEEPMASK', name: 'Silk sleep mask', price: 22, health: 'sleep' },
  { sku: 'HLT-NOISE', name: 'White noise machine', price: 49, health: 'sleep' },
  { sku: 'HLT-BPMON', name: 'Blood pressure monitor', price: 64, health: 'heart health' },
  { sku: 'HLT-AIRPUR', name: 'HEPA air purifier', price: 149, health: 'allergies' },
  { sku: 'HLT-JOURNAL', name: 'Guided mindfulness journal', price: 16, health: 'mental wellbeing' },
  { sku: 'HLT-SCALE', name: 'Smart body scale', price: 59, health: 'weight management' },
  { sku: 'HLT-OVUTEST', name: 'Ovulation test kit', price: 21, health: 'fertility' },
  { sku: 'HLT-COOLFAN', name: 'Cooling bedside fan', price: 38, health: 'menopause' },
  { sku: 'HLT-ICECAP', name: 'Migraine relief cap', price: 26, health: 'migraine' },
];
const EVERYDAY_PRODUCTS = PRODUCTS.filter((p) => !p.health || p.sku === 'HOM-PILLOW');

const CAMPAIGNS: readonly { key: string; at: string }[] = [
  { key: 'black-friday-2024', at: '2024-11-25T08:00:00.000Z' },
  { key: 'winter-sale-2025', at: '2025-01-07T08:00:00.000Z' },
  { key: 'spring-collection-2025', at: '2025-03-18T08:00:00.000Z' },
  { key: 'summer-newsletter-2025', at: '2025-06-24T08:00:00.000Z' },
  { key: 'back-to-school-2025', at: '2025-08-26T08:00:00.000Z' },
  { key: 'black-friday-2025', at: '2025-11-24T08:00:00.000Z' },
  { key: 'winter-sale-2026', at: '2026-01-08T08:00:00.000Z' },
  { key: 'valentines-2026', at: '2026-02-05T08:00:00.000Z' },
  { key: 'spring-collection-2026', at: '2026-03-17T08:00:00.000Z' },
  { key: 'vip-early-access-2026', at: '2026-05-05T08:00:00.000Z' },
  { key: 'summer-newsletter-2026', at: '2026-06-23T08:00:00.000Z' },
  { key: 'back-to-school-2026', at: '2026-08-25T08:00:00.000Z' },
  { key: 'autumn-edit-2026', at: '2026-09-29T08:00:00.000Z' },
  { key: 'black-friday-preview-2026', at: '2026-10-27T08:00:00.000Z' },
];

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0',
];
// Browsers that send Sec-GPC: 1 by default or by setting.
const GPC_USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Brave/1.70',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 DuckDuckGo/5',
];

// ------------------------------------------------------------------ support conversations

type TopicKey = 'delivery' | 'refund' | 'size' | 'damaged' | 'address' | 'account' | 'health';

interface TopicContext {
  first: string;
  order: string;
  product: string;
  interest: string;
}

type Line = readonly ['customer' | 'agent', string];

const TOPICS: Record<TopicKey, { subject: (c: TopicContext) => string; needsOrder: boolean; lines: (c: TopicContext) => Line[] }> = {
  delivery: {
    needsOrder: true,
    subject: (c) => `Where is my order ${c.order}?`,
    lines: (c) => [
      ['customer', `Hi, my order ${c.order} was supposed to arrive on Tuesday and the tracking hasn't updated since Friday. Can you check where it is?`],
      ['agent', `Hi ${c.first}, sorry for the wait! I checked with the carrier: the parcel is at your local depot and should be delivered within two working days.`],
      ['customer', `Thanks. Can it be left with a neighbour if I'm not home?`],
      ['agent', `Yes, I've added a delivery note allowing a neighbour to accept it. You'll get an email as soon as the tracking updates.`],
      ['customer', `It arrived this morning. Thanks for the help!`],
      ['agent', `Glad to hear it! I'll close this ticket now. Have a nice day.`],
    ],
  },
  refund: {
    needsOrder: true,
    subject: (c) => `Refund for returned ${c.product}`,
    lines: (c) => [
      ['customer', `Hello, I sent back the ${c.product} from order ${c.order} two weeks ago but I haven't received my refund yet.`],
      ['agent', `Hi ${c.first}, thanks for reaching out. The return was registered at our warehouse yesterday, so the refund is being processed now.`],
      ['customer', `How long until I see the money on my card?`],
      ['agent', `Refunds usually show up within 5 to 7 working days, depending on your bank. You'll get a confirmation email once it has been issued.`],
      ['customer', `OK, I can see it now. Thank you.`],
    ],
  },
  size: {
    needsOrder: true,
    subject: (c) => `Exchange ${c.product} for a different size`,
    lines: (c) => [
      ['customer', `Hi, the ${c.product} I ordered is too small. Can I exchange it for a size larger?`],
      ['agent', `Of course, ${c.first}! I've created a free exchange label for order ${c.order}. Please print it and drop the parcel at any pickup point.`],
      ['customer', `Does it run true to size? I'm between an M and an L.`],
      ['agent', `Customers say it's slightly slim, so the L is the safer choice. I've reserved an L for you.`],
      ['customer', `Perfect, I'll send the other one back tomorrow.`],
      ['agent', `Great. The L ships as soon as the return is scanned.`],
    ],
  },
  damaged: {
    needsOrder: true,
    subject: (c) => `Damaged item in order ${c.order}`,
    lines: (c) => [
      ['customer', `The ${c.product} in my last order arrived damaged: the box was crushed and it's cracked. What can I do?`],
      ['agent', `I'm so sorry about that, ${c.first}. Could you send a photo of the damage so I can file a claim with the carrier?`],
      ['customer', `Sure, photo attached.`],
      ['agent', `Thanks, that's clear. I've sent a replacement free of charge; you don't need to return the damaged one.`],
      ['customer', `That was quick, thank you!`],
    ],
  },
  address: {
    needsOrder: true,
    subject: () => 'Change delivery address',
    lines: (c) => [
      ['customer', `I just placed order ${c.order} but I moved last week. Can you change the delivery address?`],
      ['agent', `Hi ${c.first}, the order hasn't shipped yet, so I can update it. Is the new address the one now saved in your account?`],
      ['customer', `Yes, I updated it in my account a minute ago.`],
      ['agent', `Done: the order will go to the updated address. Anything else I can help with?`],
      ['customer', `No, that's all. Thanks!`],
    ],
  },
  account: {
    needsOrder: false,
    subject: () => 'Cannot log in to my account',
    lines: (c) => [
      ['customer', `I can't log in to my account: the password reset email never arrives.`],
      ['agent', `Hi ${c.first}, I've sent the reset link again. Could you check your spam or promotions folder?`],
      ['customer', `Found it in spam, I'm in now.`],
      ['agent', `Great! Adding our address to your contacts should keep future emails out of spam.`],
    ],
  },
  health: {
    needsOrder: false,
    subject: (c) => `Question about products for ${c.interest}`,
    lines: (c) => HEALTH_LINES[c.interest]?.(c) ?? HEALTH_LINES.default(c),
  },
};

const HEALTH_LINES: Record<string, (c: TopicContext) => Line[]> = {
  'diabetes care': (c) => [
    ['customer', `Are your glucose test strips compatible with my meter? I was diagnosed with type 2 diabetes last year and my doctor wants me to test twice a day.`],
    ['agent', `Hi ${c.first}, the strips work with the meters listed on the product page. For anything about your treatment, please check with your doctor or pharmacist.`],
    ['customer', `Thanks. Do you offer a subscription so I don't run out?`],
    ['agent', `Yes: subscribe and save 10%, and you can pause or cancel at any time in your account.`],
  ],
  pregnancy: (c) => [
    ['customer', `I'm 14 weeks pregnant. Can I take the prenatal vitamins together with the iron supplement my midwife prescribed?`],
    ['agent', `Congratulations, ${c.first}! We can't give medical advice, so please ask your midwife about combining them. The full ingredient list is on the product page.`],
    ['customer', `OK, I'll ask at my next appointment. Is the maternity pillow back in stock?`],
    ['agent', `It's back next week; I've set up an email alert for you.`],
  ],
  sleep: (c) => [
    ['customer', `I've had trouble sleeping for months. Would the white noise machine or the memory foam pillow help more?`],
    ['agent', `Hi ${c.first}, many customers with light sleep like the white noise machine; the pillow helps more with neck pain. If the insomnia persists, a doctor is the best person to ask.`],
    ['customer', `I'll try the machine first then. Can I return it if it doesn't help?`],
    ['agent', `Yes, you have 30 days to return it, even opened.`],
  ],
  'heart health': (c) => [
    ['customer', `My cardiologist asked me to track my blood pressure at home after my heart surgery. Is your monitor clinically validated?`],
    ['agent', `Hi ${c.first}, yes: it is validated to the ESH protocol, and the certificate is linked on the product page.`],
    ['customer', `Does it store readings for two people?`],
    ['agent', `It stores 60 readings for each of two users, and you can export them for your doctor.`],
  ],
  allergies: (c) => [
    ['customer', `Does the HEPA air purifier help with pollen? My asthma gets bad every spring.`],
    ['agent', `Hi ${c.first}, the HEPA filter captures pollen down to 0.3 microns. It doesn't replace your asthma medication, of course.`],
    ['customer', `How often do I need to change the filter?`],
    ['agent', `About every six months; we can send you a reminder if you like.`],
  ],
  default: (c) => [
    ['customer', `I'm dealing with ${c.interest} at the moment. Which of your products would you recommend?`],
    ['agent', `Hi ${c.first}, I'm sorry to hear that. Our wellbeing range has a few options; I've sent you a short list by email. Please talk to your doctor before relying on any of them.`],
    ['customer', `Thank you, that's helpful.`],
  ],
};

// ------------------------------------------------------------------ row buffers

type ConsentSource = 'CONSENT_CENTER' | 'EMAIL_LINK' | 'CRM' | 'API' | 'CHATBOT' | 'GPC';

/** [column, array type of the unnest parameter, optional cast of the unnested value] */
type ColumnSpec = readonly [name: string, arrayType: string, cast?: string];

const COLUMNS = {
  customer: [
    ['id', 'uuid'],
    ['external_id', 'text'],
    ['email', 'text'],
    ['phone', 'text'],
    ['first_name', 'text'],
    ['last_name', 'text'],
    ['birth_date', 'date'],
    ['street', 'text'],
    ['city', 'text'],
    ['postal_code', 'text'],
    ['region', 'text'],
    ['country', 'text'],
    ['preferred_language', 'text'],
    ['segment', 'text'],
    ['lifetime_value', 'numeric'],
    ['churn_score', 'float8'],
    ['risk_band', 'text'],
    // A ragged text[][] cannot be one parameter: each row's array travels as its literal.
    ['health_interests', 'text', 'text[]'],
    ['precise_location', 'text'],
    ['created_at', 'timestamp'],
    ['updated_at', 'timestamp'],
  ],
  order: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['number', 'text'],
    ['status', 'text'],
    ['currency', 'text'],
    ['total', 'numeric'],
    ['placed_at', 'timestamp'],
  ],
  order_item: [
    ['id', 'uuid'],
    ['order_id', 'uuid'],
    ['customer_id', 'uuid'],
    ['sku', 'text'],
    ['name', 'text'],
    ['quantity', 'int4'],
    ['unit_price', 'numeric'],
  ],
  support_ticket: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['subject', 'text'],
    ['status', 'text'],
    ['channel', 'text'],
    ['opened_at', 'timestamp'],
    ['closed_at', 'timestamp'],
  ],
  ticket_message: [
    ['id', 'uuid'],
    ['ticket_id', 'uuid'],
    ['customer_id', 'uuid'],
    ['author', 'text'],
    ['body', 'text'],
    ['sent_at', 'timestamp'],
  ],
  marketing_interaction: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['campaign', 'text'],
    ['kind', 'text'],
    ['occurred_at', 'timestamp'],
  ],
  web_event: [
    ['id', 'uuid'],
    ['customer_id', 'uuid'],
    ['kind', 'text'],
    ['path', 'text'],
    ['device', 'text'],
    ['occurred_at', 'timestamp'],
  ],
  // Enums travel as text[] and are cast per value: PGlite serialises only arrays of built-in types.
  consent_event: [
    ['id', 'int8'],
    ['customer_id', 'uuid'],
    ['purpose_key', 'text'],
    ['purpose_version', 'int4'],
    ['action', 'text', '"ConsentAction"'],
    ['source', 'text', '"ConsentSource"'],
    ['notice_version', 'text'],
    ['regime', 'text', '"Regime"'],
    ['sensitive', 'bool'],
    ['expires_at', 'timestamp'],
    ['ip_hash', 'text'],
    ['user_agent', 'text'],
    ['recorded_at', 'timestamp'],
  ],
} as const satisfies Record<string, readonly ColumnSpec[]>;

type BufferedTable = keyof typeof COLUMNS;

class RowBuffer {
  readonly columns: unknown[][];
  constructor(readonly specs: readonly ColumnSpec[]) {
    this.columns = specs.map(() => []);
  }
  get length(): number {
    return this.columns[0].length;
  }
  push(...values: unknown[]): void {
    if (values.length !== this.specs.length) throw new Error(`seed: expected ${this.specs.length} values, got ${values.length}`);
    for (let i = 0; i < values.length; i++) this.columns[i].push(values[i]);
  }
}

async function insertBuffer(client: SeedClient, table: string, buffer: RowBuffer, batchRows = BATCH_ROWS): Promise<void> {
  const { specs } = buffer;
  const names = specs.map(([n]) => `"${n}"`).join(', ');
  const args = specs.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const aliases = specs.map((_, i) => `c${i}`).join(', ');
  const select = specs.map(([, , cast], i) => (cast ? `c${i}::${cast}` : `c${i}`)).join(', ');
  const sql = `INSERT INTO "${table}" (${names}) SELECT ${select} FROM unnest(${args}) AS u(${aliases})`;
  for (let offset = 0; offset < buffer.length; offset += batchRows) {
    await client.query(
      sql,
      buffer.columns.map((col) => col.slice(offset, offset + batchRows)),
    );
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoDate = (ms: number): string => iso(ms).slice(0, 10);
const money = (n: number): string => n.toFixed(2);
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function pgTextArray(items: readonly string[]): string {
  return `{${items.map((s) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function emailLocal(first: string, last: string): string {
  const fold = (s: string) =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/ł/g, 'l')
      .replace(/Ł/g, 'L')
      .toLowerCase()
      .replace(/[^a-z]/g, '');
  return `${fold(first)}.${fold(last)}`;
}

/** The privacy notice in force at a time (shown when the choice was made). */
function noticeVersion(at: number): string {
  if (at < Date.UTC(2021, 6, 1)) return 'notice-2018-05';
  if (at < Date.UTC(2024, 1, 1)) return 'notice-2021-07';
  if (at < Date.UTC(2025, 0, 1)) return 'notice-2024-02';
  if (at < Date.UTC(2026, 2, 1)) return 'notice-2025-01';
  return 'notice-2026-03';
}

// ------------------------------------------------------------------ generation

interface PendingEvent {
  customerId: string;
  purposeKey: PurposeKey;
  action: ConsentAction;
  source: ConsentSource;
  regime: Regime;
  sensitive: boolean;
  at: number;
  expiresAt: number | null;
  ipHash: string | null;
  userAgent: string | null;
  /** Generation order: ties on `at` keep it, so ids are stable. */
  seq: number;
}

interface Dataset {
  customer: RowBuffer;
  order: RowBuffer;
  order_item: RowBuffer;
  support_ticket: RowBuffer;
  ticket_message: RowBuffer;
  marketing_interaction: RowBuffer;
  web_event: RowBuffer;
  events: PendingEvent[];
  orderCounter: number;
}

const PURPOSE_VERSION = new Map<string, number>(PURPOSES.map((p) => [p.key, p.version]));

interface CustomerProfile {
  id: string;
  externalId: string;
  first: string;
  last: string;
  email: string;
  profile: CountryProfile | undefined;
  place: Place | undefined;
  country: string | null;
  region: string | null;
  regime: Regime;
  birthDate: string | null;
  minor: boolean;
  language: string | null;
  segment: string;
  healthInterests: string[];
  preciseLocation: string | null;
  createdAt: number;
}

const SEGMENTS: readonly (readonly [string, number])[] = [
  ['new', 18],
  ['loyal', 30],
  ['vip', 8],
  ['at_risk', 20],
  ['dormant', 24],
];

function churnFor(rng: Rng, segment: string): number | null {
  const [lo, hi] =
    segment === 'new' ? [0.15, 0.5] : segment === 'loyal' ? [0.02, 0.3] : segment === 'vip' ? [0.01, 0.2] : segment === 'at_risk' ? [0.55, 0.95] : [0.4, 0.9];
  if (segment === 'new' && rng.chance(0.1)) return null; // too new to score
  return Math.round(rng.float(lo, hi) * 10000) / 10000;
}

function riskBand(score: number | null): string | null {
  if (score === null) return null;
  return score < 0.33 ? 'low' : score < 0.66 ? 'medium' : 'high';
}

function jitteredLocation(rng: Rng, place: Place): string {
  return `${(place.lat + rng.float(-0.06, 0.06)).toFixed(4)},${(place.lon + rng.float(-0.06, 0.06)).toFixed(4)}`;
}

function makeCustomer(rng: Rng, index: number): CustomerProfile {
  const home = rng.weighted(HOMES);
  const country = home.country;
  const profile = country ? COUNTRIES[country] : undefined;
  let region: string | null = null;
  let place: Place | undefined;
  if (profile && country === 'US') {
    if (home.region) {
      place = rng.pick(profile.places.filter((p) => p.region === home.region));
      region = home.region;
    }
  } else if (profile) {
    place = rng.pick(profile.places);
    // Some EU records carry no region: the CRM field is optional outside the US.
    region = rng.chance(0.8) ? place.region : null;
  }
  // Names: the country's, or anyone's when the country is unknown.
  const nameSource = profile ?? COUNTRIES[rng.pick(Object.keys(COUNTRIES))];
  const first = rng.pick(nameSource.first);
  const last = rng.pick(nameSource.last);
  const domain = rng.pick(['example.com', 'example.org', 'example.net', 'mail.example.com']);
  const regime = regimeOf(country, region);

  // Age: a few Californian under-16s (the CCPA minors rule); otherwise adults.
  let birthDate: string | null = null;
  let minor = false;
  if (regime === 'CCPA' && rng.chance(0.03)) {
    minor = true;
    birthDate = isoDate(NOW - rng.int(13, 15) * YEAR - rng.int(10, 350) * DAY);
  } else if (rng.chance(0.92)) {
    const age = rng.weighted([
      [rng.int(18, 24), 12],
      [rng.int(25, 39), 38],
      [rng.int(40, 59), 35],
      [rng.int(60, 85), 15],
    ]);
    birthDate = isoDate(NOW - age * YEAR - rng.int(10, 350) * DAY);
  }

  const segment = minor ? 'new' : rng.weighted(SEGMENTS);
  const createdAt =
    segment === 'new' ? rng.time(NOW - 150 * DAY, NOW - 12 * DAY) : rng.time(Date.UTC(2019, 0, 1), NOW - 150 * DAY);
  const healthInterests = rng.chance(0.2) ? rng.sample(HEALTH_INTERESTS, rng.weighted([[1, 3], [2, 1]])) : [];
  const preciseLocation = place && rng.chance(0.3) ? jitteredLocation(rng, place) : null;
  const language = rng.weighted<string | null>([
    [place?.language ?? profile?.language ?? null, 88],
    [profile?.code === 'US' ? 'es' : 'en', 10],
    [null, 2],
  ]);
  return {
    id: rng.uuid(),
    externalId: `CRM-${100000 + index}`,
    first,
    last,
    email: `${emailLocal(first, last)}${index}@${domain}`,
    profile,
    place,
    country,
    region,
    regime,
    birthDate,
    minor,
    language,
    segment,
    healthInterests,
    preciseLocation,
    createdAt,
  };
}

function personaCustomer(rng: Rng, spec: PersonaSpec): CustomerProfile {
  const profile = spec.country ? COUNTRIES[spec.country] : undefined;
  const place = profile?.places.find((p) => p.city === spec.place);
  if (spec.country && !place) throw new Error(`seed: persona ${spec.externalId} has an unknown place ${spec.place}`);
  return {
    id: rng.uuid(),
    externalId: spec.externalId,
    first: spec.firstName,
    last: spec.lastName,
    email: spec.email,
    profile,
    place,
    country: spec.country,
    region: spec.region,
    regime: regimeOf(spec.country, spec.region),
    birthDate: spec.birthDate,
    minor: spec.birthDate !== null && Date.parse(spec.birthDate) > NOW - 16 * YEAR,
    language: spec.language,
    segment: spec.segment,
    healthInterests: spec.healthInterests,
    preciseLocation: spec.preciseLocation,
    createdAt: Date.parse(spec.createdAt),
  };
}

/** One consent history per customer, by regime. Returns the events in time order. */
function makeConsents(rng: Rng, c: CustomerProfile): Omit<PendingEvent, 'seq'>[] {
  const events: Omit<PendingEvent, 'seq'>[] = [];
  const browserUa = rng.pick(USER_AGENTS);
  const ip = `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  const add = (
    purposeKey: PurposeKey,
    action: ConsentAction,
    source: ConsentSource,
    at: number,
    opts: { sensitive?: boolean; expiresAt?: number | null } = {},
  ) => {
    const proof =
      source === 'CRM'
        ? { ipHash: null, userAgent: null }
        : source === 'CHATBOT'
          ? { ipHash: sha256(ip), userAgent: 'support-chatbot/2.3' }
          : source === 'API'
            ? { ipHash: sha256(ip), userAgent: rng.chance(0.5) ? browserUa : 'shop-app/5.12 (iOS 18.0)' }
            : source === 'GPC'
              ? { ipHash: sha256(ip), userAgent: rng.pick(GPC_USER_AGENTS) }
              : { ipHash: sha256(ip), userAgent: browserUa };
    events.push({
      customerId: c.id,
      purposeKey,
      action,
      source,
      regime: c.regime,
      sensitive: opts.sensitive ?? false,
      at,
      expiresAt: opts.expiresAt ?? null,
      ...proof,
    });
  };
  const start = c.createdAt + MINUTE;
  const signup = () => c.createdAt + rng.int(1, 20) * MINUTE;
  const someTime = (from = start, to = NOW - DAY) => rng.time(from, to);
  // Analytics consent mostly comes from the cookie banner (API); a marketing
  // grant often from a double opt-in link.
  const grantSource = (purposeKey: PurposeKey): ConsentSource =>
    rng.weighted([
      ['CONSENT_CENTER', 50],
      ['API', purposeKey === 'analytics' ? 60 : 15],
      ['CRM', 15],
      ['EMAIL_LINK', purposeKey === 'marketing' ? 20 : 0],
      ['CHATBOT', 5],
    ]);
  const withdrawSource = (purposeKey: PurposeKey): ConsentSource =>
    purposeKey === 'marketing' && rng.chance(0.7) ? 'EMAIL_LINK' : rng.weighted([['CONSENT_CENTER', 75], ['CHATBOT', 15], ['CRM', 10]]);

  const optIn = c.regime === 'GDPR' || c.regime === 'NONE';
  if (optIn) {
    // Opt-in regimes: grants, withdrawals, expiries and people never asked.
    const scale = c.regime === 'NONE' ? 0.6 : 1;
    const rates: Partial<Record<PurposeKey, [grant: number, withdrawn: number, expired: number]>> = {
      marketing: [0.4, 0.1, 0.04],
      analytics: [0.45, 0.05, 0.08],
      personalization: [0.3, 0.06, 0.03],
      ad_sharing: [0.14, 0.05, 0.02],
      ai_training: [0.13, 0.02, 0.01],
    };
    for (const [key, [g, w, e]] of Object.entries(rates) as [PurposeKey, [number, number, number]][]) {
      const r = rng.float();
      // Analytics consent (cookie banner) lasts 13 months; the others until withdrawn.
      const lifetime = key === 'analytics' ? 395 * DAY : null;
      if (r < g * scale) {
        let at = rng.chance(0.5) ? signup() : someTime();
        if (lifetime) at = Math.max(at, rng.time(NOW - 330 * DAY, NOW - DAY));
        if (lifetime && at - lifetime > start && rng.chance(0.3)) {
          // An earlier grant that expired, then renewed.
          const old = at - lifetime - rng.int(5, 60) * DAY;
          if (old > start) add(key, 'GRANT', 'API', old, { expiresAt: old + lifetime });
        }
        add(key, 'GRANT', grantSource(key), at, { expiresAt: lifetime ? at + lifetime : null });
      } else if (r < (g + w) * scale) {
        const at = rng.chance(0.5) ? signup() : someTime(start, NOW - 30 * DAY);
        const until = someTime(at + HOUR, NOW - DAY);
        add(key, 'GRANT', grantSource(key), at, { expiresAt: lifetime ? at + lifetime : null });
        if (until > at) add(key, 'WITHDRAW', withdrawSource(key), until);
        if (until > at && rng.chance(0.15)) {
          const again = someTime(until + HOUR, NOW - HOUR);
          add(key, 'GRANT', 'CONSENT_CENTER', again, { expiresAt: lifetime ? again + lifetime : null });
        }
      } else if (r < (g + w + e) * scale) {
        // An expired grant, never renewed: 13 months for analytics, 2 years otherwise.
        const life = lifetime ?? 2 * YEAR;
        if (NOW - life - DAY > start) {
          const at = someTime(start, NOW - life - DAY);
          add(key, 'GRANT', grantSource(key), at, { expiresAt: at + life });
        }
      }
    }
    // Explicit consent for special-category data, for those with health interests.
    if (c.healthInterests.length > 0) {
      for (const key of ['personalization', 'marketing'] as const) {
        const grant = events.findLast((e) => e.purposeKey === key && !e.sensitive);
        if (grant?.action === 'GRANT' && rng.chance(key === 'personalization' ? 0.4 : 0.2)) {
          const at = someTime(grant.at + MINUTE, NOW - HOUR);
          add(key, 'GRANT', 'CONSENT_CENTER', at, { sensitive: true, expiresAt: grant.expiresAt });
          if (rng.chance(0.1)) add(key, 'WITHDRAW', 'CONSENT_CENTER', someTime(at + HOUR, NOW - MINUTE), { sensitive: true });
        }
      }
    }
  } else {
    // Opt-out regimes (CCPA, other US states): most people never act.
    const ccpa = c.regime === 'CCPA';
    if (ccpa && !c.minor && rng.chance(0.18)) {
      add('ad_sharing', 'OPT_OUT', 'GPC', someTime());
    } else if (rng.chance(ccpa ? 0.07 : 0.12)) {
      const at = someTime();
      add('ad_sharing', 'OPT_OUT', 'CONSENT_CENTER', at);
      if (rng.chance(0.12)) add('ad_sharing', 'OPT_IN', 'CONSENT_CENTER', someTime(at + DAY, NOW - HOUR));
    }
    const optOutRates: [PurposeKey, number][] = [
      ['marketing', 0.12],
      ['analytics', 0.05],
      ['personalization', 0.06],
    ];
    for (const [key, p] of optOutRates) {
      if (!rng.chance(p)) continue;
      const at = someTime();
      add(key, 'OPT_OUT', key === 'marketing' && rng.chance(0.7) ? 'EMAIL_LINK' : rng.pick(['CONSENT_CENTER', 'CHATBOT'] as const), at);
      if (rng.chance(0.1)) add(key, 'OPT_IN', 'CONSENT_CENTER', someTime(at + DAY, NOW - HOUR));
    }
    const sensitiveData = c.healthInterests.length > 0 || c.preciseLocation !== null;
    if (ccpa && rng.chance(sensitiveData ? 0.2 : 0.06)) {
      // "Limit the use of my sensitive personal information": one click, one event per purpose.
      const at = someTime();
      for (const key of ['marketing', 'analytics', 'personalization', 'ad_sharing'] as const) {
        add(key, 'OPT_OUT', 'CONSENT_CENTER', at, { sensitive: true });
      }
    } else if (!ccpa && sensitiveData && rng.chance(0.25)) {
      // Other US states: sensitive data needs an opt-in.
      const at = someTime();
      add('personalization', 'GRANT', 'CONSENT_CENTER', at, { sensitive: true });
      if (rng.chance(0.4)) add('marketing', 'GRANT', 'CONSENT_CENTER', at, { sensitive: true });
    }
    if (!c.minor && rng.chance(0.16)) {
      const at = someTime();
      add('ai_training', 'GRANT', rng.pick(['CONSENT_CENTER', 'API'] as const), at);
      if (rng.chance(0.1)) add('ai_training', 'WITHDRAW', 'CONSENT_CENTER', someTime(at + HOUR, NOW - HOUR));
    }
  }
  return events.sort((a, b) => a.at - b.at);
}

/** When marketing may have reached this customer: [from, to, ended by an unsubscribe link]. */
function marketingWindows(c: CustomerProfile, events: readonly Omit<PendingEvent, 'seq'>[]): [number, number, boolean][] {
  const own = events.filter((e) => e.purposeKey === 'marketing' && !e.sensitive);
  const windows: [number, number, boolean][] = [];
  let open: number | null = c.regime === 'CCPA' || c.regime === 'US_STATE' ? c.createdAt : null;
  let expires: number | null = null;
  for (const e of own) {
    if (e.action === 'GRANT' || e.action === 'OPT_IN') {
      if (open === null) open = e.at;
      expires = e.expiresAt;
    } else if (open !== null) {
      windows.push([open, e.at, e.source === 'EMAIL_LINK']);
      open = null;
    }
  }
  if (open !== null) windows.push([open, Math.min(expires ?? NOW, NOW), false]);
  return windows;
}

function addActivity(
  rng: Rng,
  ds: Dataset,
  c: CustomerProfile,
  events: readonly Omit<PendingEvent, 'seq'>[],
  persona?: PersonaSpec,
): void {
  const currency = c.profile?.currency ?? 'USD';
  const rate = CURRENCY_RATE[currency];
  const price = (eur: number) => (currency === 'JPY' ? Math.round(eur * rate) : Math.round(eur * rate * 100) / 100);
  const ctxFirst = c.first;

  // Orders and items.
  const [minOrders, maxOrders] =
    c.segment === 'new' ? [0, 2] : c.segment === 'loyal' ? [2, 5] : c.segment === 'vip' ? [3, 5] : c.segment === 'at_risk' ? [1, 4] : [0, 2];
  const orderCount = Math.max(rng.int(minOrders, maxOrders), persona ? 1 : 0);
  const placedTo = c.segment === 'dormant' ? NOW - 200 * DAY : NOW - DAY;
  const orders: { id: string; number: string; placedAt: number; product: string }[] = [];
  let lifetime = 0;
  for (let k = 0; k < orderCount; k++) {
    const id = rng.uuid();
    const placedAt = rng.time(c.createdAt + HOUR, Math.max(placedTo, c.createdAt + 2 * HOUR));
    const age = NOW - placedAt;
    const status =
      age < 3 * DAY ? 'processing' : age < 10 * DAY ? 'shipped' : rng.weighted([['delivered', 88], ['returned', 6], ['cancelled', 6]]);
    const number = `SO-${new Date(placedAt).getUTCFullYear()}-${String(++ds.orderCounter).padStart(6, '0')}`;
    const itemCount = rng.weighted([[1, 40], [2, 30], [3, 20], [4, 10]]);
    const chosen = new Set<Product>();
    while (chosen.size < itemCount) {
      const healthy = c.healthInterests.length > 0 && rng.chance(0.35);
      const candidates = healthy ? PRODUCTS.filter((p) => p.health && c.healthInterests.includes(p.health)) : EVERYDAY_PRODUCTS;
      chosen.add(rng.pick(candidates.length > 0 ? candidates : EVERYDAY_PRODUCTS));
    }
    let total = 0;
    for (const p of chosen) {
      const qty = rng.weighted([[1, 80], [2, 15], [3, 5]]);
      const unit = price(p.price);
      total += unit * qty;
      ds.order_item.push(rng.uuid(), id, c.id, p.sku, p.name, qty, money(unit));
    }
    total = Math.round(total * 100) / 100;
    if (status !== 'cancelled' && status !== 'returned') lifetime += total;
    ds.order.push(id, c.id, number, status, currency, money(total), iso(placedAt));
    orders.push({ id, number, placedAt, product: [...chosen][0].name });
  }
  orders.sort((a, b) => a.placedAt - b.placedAt);

  // Support tickets with conversations.
  const ticketCount = Math.max(rng.weighted([[0, 55], [1, 35], [2, 10]]), persona ? 1 : 0);
  for (let k = 0; k < ticketCount; k++) {
    let topic: TopicKey =
      k === 0 && persona?.ticketTopic
        ? persona.ticketTopic
        : c.healthInterests.length > 0 && rng.chance(0.35)
          ? 'health'
          : rng.weighted<TopicKey>([['delivery', 30], ['refund', 20], ['size', 20], ['damaged', 10], ['address', 8], ['account', 12]]);
    // Only orders old enough for the whole conversation to lie in the past.
    const settled = orders.filter((o) => o.placedAt < NOW - 12 * DAY);
    if (TOPICS[topic].needsOrder && settled.length === 0) topic = 'account';
    const order = settled.length > 0 ? rng.pick(settled) : undefined;
    const ctx: TopicContext = {
      first: ctxFirst,
      order: order?.number ?? '',
      product: order?.product ?? 'item',
      interest: c.healthInterests[0] ?? 'sleep',
    };
    const from = TOPICS[topic].needsOrder && order ? order.placedAt + HOUR : c.createdAt + HOUR;
    const openedAt = rng.time(from, Math.max(from, Math.min(from + 40 * DAY, NOW - 10 * DAY)));
    const lines = TOPICS[topic].lines(ctx);
    const count = rng.int(2, Math.min(6, lines.length));
    const closed = NOW - openedAt > 14 * DAY ? rng.chance(0.95) : rng.chance(0.3);
    const ticketId = rng.uuid();
    let at = openedAt;
    const messageRows: unknown[][] = [];
    for (let m = 0; m < count; m++) {
      if (m > 0) at += lines[m][0] === 'agent' ? rng.int(5, 600) * MINUTE : rng.int(10, 1440) * MINUTE;
      messageRows.push([rng.uuid(), ticketId, c.id, lines[m][0], lines[m][1], iso(at)]);
    }
    const channel = rng.weighted([['email', 40], ['chat', 25], ['chatbot', 25], ['phone', 10]]);
    const status = closed ? 'closed' : lines[count - 1][0] === 'agent' ? 'pending' : 'open';
    ds.support_ticket.push(ticketId, c.id, TOPICS[topic].subject(ctx), status, channel, iso(openedAt), closed ? iso(at + rng.int(1, 48) * HOUR) : null);
    for (const row of messageRows) ds.ticket_message.push(...row);
  }

  // Marketing interactions, only while marketing was permitted.
  const interactions: [string, string, number][] = [];
  for (const [from, to, unsubscribed] of marketingWindows(c, events)) {
    if (c.createdAt >= from && c.createdAt + DAY < to) interactions.push(['welcome-series', 'sent', c.createdAt + DAY]);
    let last = 'welcome-series';
    for (const campaign of CAMPAIGNS) {
      const sent = Date.parse(campaign.at);
      if (sent < from || sent >= to || !rng.chance(0.6)) continue;
      last = campaign.key;
      interactions.push([campaign.key, 'sent', sent]);
      if (rng.chance(0.45)) {
        const opened = sent + rng.int(10, 2880) * MINUTE;
        interactions.push([campaign.key, 'opened', opened]);
        if (rng.chance(0.35)) interactions.push([campaign.key, 'clicked', opened + rng.int(1, 30) * MINUTE]);
      }
    }
    if (unsubscribed) interactions.push([last, 'unsubscribed', to]);
  }
  // At most ~10, the latest campaigns kept whole (no click without its send;
  // an unsubscribe, if any, is never dropped).
  const groups: [string, string, number][][] = [];
  for (const row of interactions) {
    const last = groups.at(-1);
    if (last && last[0][0] === row[0] && row[1] !== 'sent') last.push(row);
    else groups.push([row]);
  }
  const budget = rng.int(2, 10);
  const kept: [string, string, number][] = [];
  for (let g = groups.length - 1; g >= 0; g--) {
    if (kept.length > 0 && kept.length + groups[g].length > budget) break;
    kept.unshift(...groups[g]);
  }
  for (const [campaign, kind, at] of kept.sort((a, b) => a[2] - b[2])) {
    if (at <= NOW) ds.marketing_interaction.push(rng.uuid(), c.id, campaign, kind, iso(at));
  }

  // Web events.
  const webCount = Math.max(rng.int(0, 10), persona ? 3 : 0);
  const device = rng.weighted<string | null>([['mobile', 55], ['desktop', 35], ['tablet', 7], [null, 3]]);
  for (let k = 0; k < webCount; k++) {
    const at = rng.time(c.createdAt, NOW - MINUTE);
    const product = c.healthInterests.length > 0 && rng.chance(0.3)
      ? rng.pick(PRODUCTS.filter((p) => p.health && c.healthInterests.includes(p.health)).concat(EVERYDAY_PRODUCTS.slice(0, 1)))
      : rng.pick(EVERYDAY_PRODUCTS);
    const [kind, path] = rng.weighted<[string, string]>([
      [['page_view', rng.pick(['/', '/new-in', '/sale', '/women', '/men', '/home-living', '/wellbeing'])], 35],
      [['product_view', `/product/${product.sku.toLowerCase()}`], 30],
      [['search', `/search?q=${encodeURIComponent(product.name.split(' ').slice(-2).join(' ').toLowerCase())}`], 12],
      [['add_to_cart', `/product/${product.sku.toLowerCase()}`], 12],
      [['checkout_started', '/checkout'], 6],
      [['account_view', '/account/privacy'], 5],
    ]);
    ds.web_event.push(rng.uuid(), c.id, kind, path, rng.chance(0.9) ? device : rng.pick(['mobile', 'desktop']), iso(at));
  }

  // The customer row itself.
  const churn = churnFor(rng, c.segment);
  const bonus = c.segment === 'vip' ? rng.float(500, 3000) : c.segment === 'loyal' ? rng.float(50, 800) : 0;
  const ltv = Math.round((lifetime + price(bonus)) * 100) / 100;
  const hasAddress = c.place !== undefined && c.profile !== undefined && !(persona === undefined && rng.chance(0.04));
  const street = hasAddress ? c.profile!.address(rng, rng.pick(c.profile!.streets)) : null;
  const city = hasAddress ? c.place!.city : null;
  const postal = hasAddress ? rng.digits(c.place!.postal) : null;
  // Unknown country: an international number, when there is one at all.
  const phonePattern = c.place?.phone ?? c.profile?.phone ?? rng.pick(['+44 7### ######', '+61 4## ### ###', '+1 2##-555-01##']);
  const phone = persona || rng.chance(c.country ? 0.85 : 0.5) ? rng.digits(phonePattern) : null;
  const updatedAt = rng.time(c.createdAt, NOW - HOUR);
  ds.customer.push(
    c.id,
    c.externalId,
    c.email,
    phone,
    c.first,
    c.last,
    c.birthDate,
    street,
    city,
    postal,
    c.region,
    c.country,
    c.language,
    c.segment,
    money(ltv),
    churn,
    riskBand(churn),
    pgTextArray(c.healthInterests),
    c.preciseLocation,
    iso(c.createdAt),
    iso(updatedAt),
  );
}

function newDataset(): Dataset {
  return {
    customer: new RowBuffer(COLUMNS.customer),
    order: new RowBuffer(COLUMNS.order),
    order_item: new RowBuffer(COLUMNS.order_item),
    support_ticket: new RowBuffer(COLUMNS.support_ticket),
    ticket_message: new RowBuffer(COLUMNS.ticket_message),
    marketing_interaction: new RowBuffer(COLUMNS.marketing_interaction),
    web_event: new RowBuffer(COLUMNS.web_event),
    events: [],
    orderCounter: 0,
  };
}

/** Generates the whole data set in memory (pure: no database, no clock, no Math.random). */
function generate(customers: number): Dataset {
  const ds = newDataset();
  let seq = 0;
  const record = (events: Omit<PendingEvent, 'seq'>[]) => {
    for (const e of events) ds.events.push({ ...e, seq: seq++ });
  };
  for (const spec of PERSONA_SPECS) {
    const rng = new Rng(`${SEED_NAME}:persona:${spec.externalId}`);
    const c = personaCustomer(rng, spec);
    const ip = `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    const ua = rng.pick(USER_AGENTS);
    const events: Omit<PendingEvent, 'seq'>[] = spec.consents.map((e) => ({
      customerId: c.id,
      purposeKey: e.purposeKey,
      action: e.action,
      source: e.source,
      regime: c.regime,
      sensitive: e.sensitive ?? false,
      at: Date.parse(e.at),
      expiresAt: e.expiresAt ? Date.parse(e.expiresAt) : null,
      ipHash: e.source === 'CRM' ? null : sha256(ip),
      userAgent: e.source === 'CRM' ? null : e.source === 'GPC' ? GPC_USER_AGENTS[0] : ua,
    }));
    record(events);
    addActivity(rng, ds, c, events, spec);
  }
  for (let i = 1; i <= customers; i++) {
    const rng = new Rng(`${SEED_NAME}:customer:${i}`);
    const c = makeCustomer(rng, i);
    const events = makeConsents(rng, c);
    record(events);
    addActivity(rng, ds, c, events);
  }
  // The ledger in time order, so that ids follow recorded_at as in real life.
  ds.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return ds;
}

// ------------------------------------------------------------------ database

/**
 * Upserts the `purpose` rows from PURPOSES (src/policy/taxonomy.ts). Called by
 * the seed and on every server start; a row changes (and gets a new
 * updated_at) only when its title, description, version or row exclusion
 * changed. Purposes no longer in the taxonomy are left alone: the ledger
 * still refers to them.
 */
export async function syncPurposes(client: SeedClient, options: { now?: Date } = {}): Promise<{ changed: string[] }> {
  const { rows } = await client.query(
    `INSERT INTO "purpose" ("key", "title", "description", "version", "exclude_rows", "created_at", "updated_at")
     SELECT k, t, d, v, x, ts, ts
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::bool[]) AS u(k, t, d, v, x),
            LATERAL (SELECT COALESCE($6::timestamp, now() AT TIME ZONE 'UTC') AS ts) AS n
     ON CONFLICT ("key") DO UPDATE
        SET "title" = EXCLUDED."title", "description" = EXCLUDED."description",
            "version" = EXCLUDED."version", "exclude_rows" = EXCLUDED."exclude_rows",
            "updated_at" = EXCLUDED."updated_at"
      WHERE ("purpose"."title", "purpose"."description", "purpose"."version", "purpose"."exclude_rows")
            IS DISTINCT FROM (EXCLUDED."title", EXCLUDED."description", EXCLUDED."version", EXCLUDED."exclude_rows")
     RETURNING "key"`,
    [
      PURPOSES.map((p) => p.key),
      PURPOSES.map((p) => p.title),
      PURPOSES.map((p) => p.description),
      PURPOSES.map((p) => p.version),
      PURPOSES.map((p) => p.excludeRows),
      options.now ? options.now.toISOString() : null,
    ],
  );
  return { changed: rows.map((r) => r.key as string) };
}

/** Upserts the DEMO_CLIENTS into api_client (by name), storing only the hash of each key. */
export async function syncDemoClients(client: SeedClient, options: { now?: Date } = {}): Promise<void> {
  const rng = new Rng(`${SEED_NAME}:clients`);
  await client.query(
    `INSERT INTO "api_client" ("id", "name", "key_hash", "role", "allowed_purposes", "can_explain", "created_at")
     SELECT i, n, h, r::"ClientRole", p::text[], e, COALESCE($7::timestamp, now() AT TIME ZONE 'UTC')
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[]) AS u(i, n, h, r, p, e)
     ON CONFLICT ("name") DO UPDATE
        SET "key_hash" = EXCLUDED."key_hash", "role" = EXCLUDED."role",
            "allowed_purposes" = EXCLUDED."allowed_purposes", "can_explain" = EXCLUDED."can_explain"`,
    [
      DEMO_CLIENTS.map(() => rng.uuid()),
      DEMO_CLIENTS.map((c) => c.name),
      DEMO_CLIENTS.map((c) => hashApiKey(c.apiKey)),
      DEMO_CLIENTS.map((c) => c.role),
      DEMO_CLIENTS.map((c) => pgTextArray(c.allowedPurposes)),
      DEMO_CLIENTS.map((c) => c.canExplain),
      options.now ? options.now.toISOString() : null,
    ],
  );
}

/**
 * (Re)derives consent_state from the ledger: the latest event (by recorded_at,
 * then id) per customer × purpose × regime × scope becomes the state row.
 * Limited to `customerIds` when given; otherwise every subject.
 */
export async function deriveConsentState(client: SeedClient, options: { customerIds?: readonly string[] } = {}): Promise<void> {
  const filter = options.customerIds ? 'WHERE "customer_id" = ANY($1::uuid[])' : '';
  await client.query(
    `INSERT INTO "consent_state"
       ("customer_id", "purpose_key", "regime", "sensitive", "action", "purpose_version", "expires_at", "source", "last_event_id", "updated_at")
     SELECT DISTINCT ON ("customer_id", "purpose_key", "regime", "sensitive")
            "customer_id", "purpose_key", "regime", "sensitive", "action", "purpose_version", "expires_at", "source", "id", "recorded_at"
       FROM "consent_event" ${filter}
      ORDER BY "customer_id", "purpose_key", "regime", "sensitive", "recorded_at" DESC, "id" DESC
     ON CONFLICT ("customer_id", "purpose_key", "regime", "sensitive") DO UPDATE
        SET "action" = EXCLUDED."action", "purpose_version" = EXCLUDED."purpose_version",
            "expires_at" = EXCLUDED."expires_at", "source" = EXCLUDED."source",
            "last_event_id" = EXCLUDED."last_event_id", "updated_at" = EXCLUDED."updated_at"`,
    options.customerIds ? [options.customerIds] : undefined,
  );
}

async function countRows(client: SeedClient): Promise<Record<SeedTable, number>> {
  const { rows } = await client.query(
    `SELECT ${SEED_TABLES.map((t) => `(SELECT count(*) FROM "${t}")::int AS "${t}"`).join(', ')}`,
  );
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

    const order: Exclude<BufferedTable, 'consent_event'>[] = ['customer', 'order', 'order_item', 'support_ticket', 'ticket_message', 'marketing_interaction', 'web_event'];
    for (const table of order) {
      const t0 = performance.now();
      await insertBuffer(client, table, ds[table]);
      log(`${table}: ${ds[table].length} rows in ${Math.round(performance.now() - t0)} ms`);
    }

    // The ledger, with explicit ids (stable from run to run), then the sequence moved past them.
    const { rows: maxRows } = await client.query('SELECT COALESCE(max("id"), 0)::int8 AS m FROM "consent_event"');
    const firstId = BigInt(maxRows[0].m) + 1n;
    const ledger = new RowBuffer(COLUMNS.consent_event);
    ds.events.forEach((e, i) => {
      ledger.push(
        String(firstId + BigInt(i)),
        e.customerId,
        e.purposeKey,
        PURPOSE_VERSION.get(e.purposeKey) ?? 1,
        e.action,
        e.source,
        noticeVersion(e.at),
        e.regime,
        e.sensitive,
        e.expiresAt === null ? null : iso(e.expiresAt),
        e.ipHash,
        e.userAgent,
        iso(e.at),
      );
    });
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

  const rows = await countRows(client);
  const elapsedMs = Math.round(performance.now() - started);
  log(`seeded in ${elapsedMs} ms`);
  return { rows, customers: ds.customer.length, personas: PERSONA_SPECS.length, elapsedMs };
}
