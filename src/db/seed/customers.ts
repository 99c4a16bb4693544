import { regimeOf } from '../../policy/regime.ts';
import type { Regime } from '../../policy/types.ts';
import { DAY, NOW, YEAR } from './constants.ts';
import { COUNTRIES } from './countries.ts';
import type { CountryProfile, Place } from './country-profile.ts';
import { emailLocal, isoDate } from './format.ts';
import type { PersonaSpec } from './personas.ts';
import type { Rng } from './random.ts';
import { HEALTH_INTERESTS, HOMES } from './reference-data.ts';

// Who a customer is (home, regime, age, segment), drawn before anything they did.

export interface CustomerProfile {
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

export function churnFor(rng: Rng, segment: string): number | null {
  const [lo, hi] =
    segment === 'new'
      ? [0.15, 0.5]
      : segment === 'loyal'
        ? [0.02, 0.3]
        : segment === 'vip'
          ? [0.01, 0.2]
          : segment === 'at_risk'
            ? [0.55, 0.95]
            : [0.4, 0.9];
  if (segment === 'new' && rng.chance(0.1)) return null; // too new to score
  return Math.round(rng.float(lo, hi) * 10000) / 10000;
}

export function riskBand(score: number | null): string | null {
  if (score === null) return null;
  return score < 0.33 ? 'low' : score < 0.66 ? 'medium' : 'high';
}

function jitteredLocation(rng: Rng, place: Place): string {
  return `${(place.lat + rng.float(-0.06, 0.06)).toFixed(4)},${(place.lon + rng.float(-0.06, 0.06)).toFixed(4)}`;
}

export function makeCustomer(rng: Rng, index: number): CustomerProfile {
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
  const createdAt = segment === 'new' ? rng.time(NOW - 150 * DAY, NOW - 12 * DAY) : rng.time(Date.UTC(2019, 0, 1), NOW - 150 * DAY);
  const healthInterests = rng.chance(0.2)
    ? rng.sample(
        HEALTH_INTERESTS,
        rng.weighted([
          [1, 3],
          [2, 1],
        ]),
      )
    : [];
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

export function personaCustomer(rng: Rng, spec: PersonaSpec): CustomerProfile {
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
