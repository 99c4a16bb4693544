import { describe, expect, it } from 'vitest';
import {
  FIELD_CLASSES,
  MASK_REASONS,
  POLICY_VERSION,
  PURPOSES,
  PURPOSE_KEYS,
  REGIMES,
  basisFor,
  decide,
  decideClass,
  fieldClass,
  findPurpose,
  permits,
  type ConsentAction,
  type ConsentRecord,
  type DataCategory,
  type FieldClass,
  type PurposeDefinition,
  type Regime,
  type Subject,
} from '../../src/policy/index.ts';
import { oracleDecision } from '../support/policy-oracle.ts';

// Table-driven: regime × purpose × consent history × field (served or not,
// sensitive or not) → decision, stated as "<effect> <reason>".
//
// The subject comes first: a subject without a legal basis for the purpose's
// use of their ordinary data is excluded ('exclude'), for every field,
// served or not, sensitive or not. Only a subject the purpose may process
// sees fields masked ('mask': not served, or a sensitive-data limit).

const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const LATER = new Date(NOW.getTime() + 30 * DAY);
const EARLIER = new Date(NOW.getTime() - DAY);

const purpose = (key: string): PurposeDefinition => {
  const found = findPurpose(key);
  if (!found) throw new Error(`no purpose ${key}`);
  return found;
};

/** Marketing after a material change: version 2. */
const MARKETING_V2: PurposeDefinition = { ...purpose('marketing'), version: 2 };
/** A purpose no regime allows, to exercise DENY. */
const FORBIDDEN: PurposeDefinition = {
  ...purpose('marketing'),
  key: 'forbidden',
  basis: { GDPR: 'DENY', CCPA: 'DENY', US_STATE: 'DENY', NONE: 'DENY' },
};
/** Ordinary data by contract, sensitive data never. */
const NO_SENSITIVE: PurposeDefinition = {
  ...purpose('transactional'),
  key: 'no_sensitive',
  sensitiveBasis: { GDPR: 'DENY', CCPA: 'DENY', US_STATE: 'DENY', NONE: 'DENY' },
};
const VARIANTS = new Map([MARKETING_V2, FORBIDDEN, NO_SENSITIVE].map((p) => [`${p.key}@v${p.version}`, p]));
const ALL_KEYS: readonly string[] = [...PURPOSE_KEYS, 'forbidden', 'no_sensitive'];

interface Rec {
  action: ConsentAction;
  purpose?: string;
  regime?: Regime;
  sensitive?: boolean;
  version?: number;
  expiresAt?: Date | null;
}

interface Row {
  name: string;
  purpose: string;
  regime: Regime;
  consents?: Rec[];
  /** The field is special-category data. */
  sensitive?: boolean;
  /** `false`: the field does not serve the purpose (it serves every other one). */
  served?: boolean;
  minor?: boolean;
  /** "<effect> <reason>" */
  expect: string;
}

const CONSENT_PURPOSES = ['marketing', 'analytics', 'personalization', 'ai_training', 'ad_sharing'];
const US_OPT_OUT_PURPOSES = ['marketing', 'analytics', 'personalization', 'ad_sharing'];
const CONTRACT_PURPOSES = ['transactional', 'support', 'consent_management'];

/** Rows written for GDPR; the same rows must hold for NONE (unknown law = strictest). */
const gdprRows: Row[] = [
  ...CONSENT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: no grant`, purpose: p, regime: 'GDPR', expect: 'exclude NO_CONSENT' },
    { name: `${p}: current grant`, purpose: p, regime: 'GDPR', consents: [{ action: 'GRANT' }], expect: 'allow CONSENT' },
    { name: `${p}: current OPT_IN`, purpose: p, regime: 'GDPR', consents: [{ action: 'OPT_IN' }], expect: 'allow CONSENT' },
    { name: `${p}: withdrawn`, purpose: p, regime: 'GDPR', consents: [{ action: 'WITHDRAW' }], expect: 'exclude WITHDRAWN' },
    { name: `${p}: opted out`, purpose: p, regime: 'GDPR', consents: [{ action: 'OPT_OUT' }], expect: 'exclude OPTED_OUT' },
    {
      name: `${p}: expired grant`,
      purpose: p,
      regime: 'GDPR',
      consents: [{ action: 'GRANT', expiresAt: EARLIER }],
      expect: 'exclude EXPIRED',
    },
    {
      name: `${p}: grant for another version`,
      purpose: p,
      regime: 'GDPR',
      consents: [{ action: 'GRANT', version: 2 }],
      expect: 'exclude CONSENT_OUTDATED',
    },
    {
      name: `${p}: sensitive field, ordinary grant only`,
      purpose: p,
      regime: 'GDPR',
      sensitive: true,
      consents: [{ action: 'GRANT' }],
      expect: 'mask SENSITIVE_REQUIRES_OPT_IN',
    },
    {
      name: `${p}: sensitive field, both grants`,
      purpose: p,
      regime: 'GDPR',
      sensitive: true,
      consents: [{ action: 'GRANT' }, { action: 'GRANT', sensitive: true }],
      expect: 'allow CONSENT',
    },
    {
      name: `${p}: sensitive field, sensitive grant only: excluded`,
      purpose: p,
      regime: 'GDPR',
      sensitive: true,
      consents: [{ action: 'GRANT', sensitive: true }],
      expect: 'exclude NO_CONSENT',
    },
    {
      name: `${p}: sensitive field, sensitive grant, ordinary expired: excluded`,
      purpose: p,
      regime: 'GDPR',
      sensitive: true,
      consents: [
        { action: 'GRANT', expiresAt: EARLIER },
        { action: 'GRANT', sensitive: true },
      ],
      expect: 'exclude EXPIRED',
    },
    {
      name: `${p}: not-served field of a granted subject`,
      purpose: p,
      regime: 'GDPR',
      served: false,
      consents: [{ action: 'GRANT' }],
      expect: 'mask PURPOSE_NOT_SERVED',
    },
    {
      name: `${p}: not-served field without a grant: excluded, not PURPOSE_NOT_SERVED`,
      purpose: p,
      regime: 'GDPR',
      served: false,
      expect: 'exclude NO_CONSENT',
    },
    {
      name: `${p}: not-served sensitive field of a withdrawn subject: excluded`,
      purpose: p,
      regime: 'GDPR',
      served: false,
      sensitive: true,
      consents: [{ action: 'WITHDRAW' }, { action: 'GRANT', sensitive: true }],
      expect: 'exclude WITHDRAWN',
    },
    { name: `${p}: a minor needs no more than the grant`, purpose: p, regime: 'GDPR', minor: true, expect: 'exclude NO_CONSENT' },
    {
      name: `${p}: a minor with a grant`,
      purpose: p,
      regime: 'GDPR',
      minor: true,
      consents: [{ action: 'GRANT' }],
      expect: 'allow CONSENT',
    },
  ]),
  {
    name: 'sensitive grant withdrawn',
    purpose: 'marketing',
    regime: 'GDPR',
    sensitive: true,
    consents: [{ action: 'GRANT' }, { action: 'WITHDRAW', sensitive: true }],
    expect: 'mask SENSITIVE_REQUIRES_OPT_IN',
  },
  {
    name: 'sensitive grant expired',
    purpose: 'marketing',
    regime: 'GDPR',
    sensitive: true,
    consents: [{ action: 'GRANT' }, { action: 'GRANT', sensitive: true, expiresAt: EARLIER }],
    expect: 'mask SENSITIVE_REQUIRES_OPT_IN',
  },
  {
    name: 'sensitive grant for an old version',
    purpose: 'marketing@v2',
    regime: 'GDPR',
    sensitive: true,
    consents: [
      { action: 'GRANT', version: 2 },
      { action: 'GRANT', sensitive: true, version: 1 },
    ],
    expect: 'mask SENSITIVE_REQUIRES_OPT_IN',
  },
  {
    name: 'sensitive opt-out',
    purpose: 'marketing',
    regime: 'GDPR',
    sensitive: true,
    consents: [{ action: 'GRANT' }, { action: 'OPT_OUT', sensitive: true }],
    expect: 'mask SENSITIVE_REQUIRES_OPT_IN',
  },
  {
    name: 'a sensitive withdrawal leaves ordinary fields alone',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT' }, { action: 'WITHDRAW', sensitive: true }],
    expect: 'allow CONSENT',
  },
  {
    name: 'ordinary withdrawn beats a sensitive grant',
    purpose: 'marketing',
    regime: 'GDPR',
    sensitive: true,
    consents: [{ action: 'WITHDRAW' }, { action: 'GRANT', sensitive: true }],
    expect: 'exclude WITHDRAWN',
  },
  {
    name: 'grant for version 1, purpose at version 2',
    purpose: 'marketing@v2',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', version: 1 }],
    expect: 'exclude CONSENT_OUTDATED',
  },
  {
    name: 'grant for version 1, purpose at version 2, sensitive field',
    purpose: 'marketing@v2',
    regime: 'GDPR',
    sensitive: true,
    consents: [
      { action: 'GRANT', version: 1 },
      { action: 'GRANT', sensitive: true, version: 2 },
    ],
    expect: 'exclude CONSENT_OUTDATED',
  },
  {
    name: 'grant for version 2, purpose at version 2',
    purpose: 'marketing@v2',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', version: 2 }],
    expect: 'allow CONSENT',
  },
  {
    name: 'grant for a later version than the purpose',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', version: 2 }],
    expect: 'exclude CONSENT_OUTDATED',
  },
  {
    name: 'grant expiring later',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', expiresAt: LATER }],
    expect: 'allow CONSENT',
  },
  {
    name: 'grant expiring exactly now',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', expiresAt: NOW }],
    expect: 'exclude EXPIRED',
  },
  {
    name: 'grant with an invalid expiry',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', expiresAt: new Date('nonsense') }],
    expect: 'exclude EXPIRED',
  },
  {
    name: 'grant then withdraw (both given)',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT' }, { action: 'WITHDRAW' }],
    expect: 'exclude WITHDRAWN',
  },
  {
    name: 'several records: any negative wins',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT' }, { action: 'GRANT', expiresAt: EARLIER }],
    expect: 'exclude EXPIRED',
  },
  {
    name: 'several records: outdated outranks expired',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [
      { action: 'GRANT', expiresAt: EARLIER },
      { action: 'GRANT', version: 2 },
    ],
    expect: 'exclude CONSENT_OUTDATED',
  },
  {
    name: 'several records: an opt-out outranks an outdated grant',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', version: 2 }, { action: 'OPT_OUT' }],
    expect: 'exclude OPTED_OUT',
  },
  {
    name: 'several records: withdrawal outranks the rest',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', expiresAt: EARLIER }, { action: 'OPT_OUT' }, { action: 'WITHDRAW' }],
    expect: 'exclude WITHDRAWN',
  },
  {
    name: 'an unknown action is not a grant',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'MAYBE' as ConsentAction }],
    expect: 'exclude WITHDRAWN',
  },
  {
    name: 'a grant for another purpose does not count',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', purpose: 'analytics' }],
    expect: 'exclude NO_CONSENT',
  },
  {
    name: 'a CCPA opt-out leaves the GDPR grant alone',
    purpose: 'ad_sharing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT' }, { action: 'OPT_OUT', regime: 'CCPA' }],
    expect: 'allow CONSENT',
  },
  {
    name: 'a CCPA-regime record is no GDPR grant',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', regime: 'CCPA' }],
    expect: 'exclude NO_CONSENT',
  },
  {
    name: 'a sensitive-scope record is no ordinary grant',
    purpose: 'marketing',
    regime: 'GDPR',
    consents: [{ action: 'GRANT', sensitive: true }],
    expect: 'exclude NO_CONSENT',
  },
];

const contractRows: Row[] = REGIMES.flatMap((regime) =>
  CONTRACT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: by contract`, purpose: p, regime, expect: 'allow CONTRACT' },
    { name: `${p}: sensitive by contract`, purpose: p, regime, sensitive: true, expect: 'allow CONTRACT' },
    { name: `${p}: a minor, by contract`, purpose: p, regime, minor: true, sensitive: true, expect: 'allow CONTRACT' },
    {
      name: `${p}: withdrawals do not stop the contract`,
      purpose: p,
      regime,
      sensitive: true,
      consents: [{ action: 'WITHDRAW' }, { action: 'OPT_OUT', sensitive: true }],
      expect: 'allow CONTRACT',
    },
    {
      name: `${p}: expired and outdated grants do not matter`,
      purpose: p,
      regime,
      consents: [
        { action: 'GRANT', expiresAt: EARLIER },
        { action: 'GRANT', version: 2, sensitive: true },
      ],
      sensitive: true,
      expect: 'allow CONTRACT',
    },
    {
      name: `${p}: a not-served field is masked, never excluded`,
      purpose: p,
      regime,
      served: false,
      consents: [{ action: 'WITHDRAW' }],
      expect: 'mask PURPOSE_NOT_SERVED',
    },
  ]),
);

const ccpaRows: Row[] = [
  ...US_OPT_OUT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: allowed until opt-out`, purpose: p, regime: 'CCPA', expect: 'allow NOT_OPTED_OUT' },
    {
      name: `${p}: opted out (GPC signal included)`,
      purpose: p,
      regime: 'CCPA',
      consents: [{ action: 'OPT_OUT' }],
      expect: 'exclude OPTED_OUT',
    },
    { name: `${p}: withdrawn`, purpose: p, regime: 'CCPA', consents: [{ action: 'WITHDRAW' }], expect: 'exclude WITHDRAWN' },
    { name: `${p}: a grant changes nothing`, purpose: p, regime: 'CCPA', consents: [{ action: 'GRANT' }], expect: 'allow NOT_OPTED_OUT' },
    {
      name: `${p}: an expired, outdated grant changes nothing`,
      purpose: p,
      regime: 'CCPA',
      consents: [{ action: 'GRANT', version: 2, expiresAt: EARLIER }],
      expect: 'allow NOT_OPTED_OUT',
    },
    { name: `${p}: sensitive, not limited`, purpose: p, regime: 'CCPA', sensitive: true, expect: 'allow NOT_OPTED_OUT' },
    {
      name: `${p}: sensitive after a right-to-limit opt-out`,
      purpose: p,
      regime: 'CCPA',
      sensitive: true,
      consents: [{ action: 'OPT_OUT', sensitive: true }],
      expect: 'mask SENSITIVE_LIMITED',
    },
    {
      name: `${p}: sensitive-scope opt-out leaves ordinary data alone`,
      purpose: p,
      regime: 'CCPA',
      consents: [{ action: 'OPT_OUT', sensitive: true }],
      expect: 'allow NOT_OPTED_OUT',
    },
    {
      name: `${p}: ordinary opt-out excludes sensitive fields too`,
      purpose: p,
      regime: 'CCPA',
      sensitive: true,
      consents: [{ action: 'OPT_OUT' }],
      expect: 'exclude OPTED_OUT',
    },
    {
      name: `${p}: opted out, not-served field: excluded`,
      purpose: p,
      regime: 'CCPA',
      served: false,
      consents: [{ action: 'OPT_OUT' }],
      expect: 'exclude OPTED_OUT',
    },
    { name: `${p}: not opted out, not-served field`, purpose: p, regime: 'CCPA', served: false, expect: 'mask PURPOSE_NOT_SERVED' },
  ]),
  {
    name: 'sensitive-scope withdrawal limits too',
    purpose: 'marketing',
    regime: 'CCPA',
    sensitive: true,
    consents: [{ action: 'WITHDRAW', sensitive: true }],
    expect: 'mask SENSITIVE_LIMITED',
  },
  {
    name: 'ad_sharing opt-out leaves marketing allowed',
    purpose: 'marketing',
    regime: 'CCPA',
    consents: [{ action: 'OPT_OUT', purpose: 'ad_sharing' }],
    expect: 'allow NOT_OPTED_OUT',
  },
  {
    name: 'an opt-out holds whatever its version and expiry',
    purpose: 'marketing@v2',
    regime: 'CCPA',
    consents: [{ action: 'OPT_OUT', version: 1, expiresAt: EARLIER }],
    expect: 'exclude OPTED_OUT',
  },
  {
    name: 'opted out and withdrawn',
    purpose: 'marketing',
    regime: 'CCPA',
    consents: [{ action: 'WITHDRAW' }, { action: 'OPT_OUT' }],
    expect: 'exclude OPTED_OUT',
  },
  { name: 'no record needed after a version bump', purpose: 'marketing@v2', regime: 'CCPA', expect: 'allow NOT_OPTED_OUT' },
  {
    name: 'under 16: ad_sharing needs an opt-in',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    expect: 'exclude MINOR_REQUIRES_OPT_IN',
  },
  {
    name: 'under 16: ad_sharing needs an opt-in, sensitive field',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    sensitive: true,
    expect: 'exclude MINOR_REQUIRES_OPT_IN',
  },
  {
    name: 'under 16: ad_sharing needs an opt-in, not-served field',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    served: false,
    expect: 'exclude MINOR_REQUIRES_OPT_IN',
  },
  {
    name: 'under 16: ad_sharing with an opt-in',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    consents: [{ action: 'OPT_IN' }],
    expect: 'allow CONSENT',
  },
  {
    name: 'under 16: ad_sharing with an opt-in, sensitive field not limited',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    sensitive: true,
    consents: [{ action: 'OPT_IN' }],
    expect: 'allow CONSENT',
  },
  {
    name: 'under 16: ad_sharing with an expired opt-in',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    consents: [{ action: 'OPT_IN', expiresAt: EARLIER }],
    expect: 'exclude EXPIRED',
  },
  {
    name: 'under 16: ad_sharing with an opt-in for another version',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    consents: [{ action: 'OPT_IN', version: 2 }],
    expect: 'exclude CONSENT_OUTDATED',
  },
  {
    name: 'under 16: ad_sharing opted out',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    consents: [{ action: 'OPT_OUT' }],
    expect: 'exclude OPTED_OUT',
  },
  { name: 'under 16: marketing stays opt-out', purpose: 'marketing', regime: 'CCPA', minor: true, expect: 'allow NOT_OPTED_OUT' },
  {
    name: 'under 16: sensitive ad_sharing keeps the right to limit',
    purpose: 'ad_sharing',
    regime: 'CCPA',
    minor: true,
    sensitive: true,
    consents: [{ action: 'OPT_IN' }, { action: 'OPT_OUT', sensitive: true }],
    expect: 'mask SENSITIVE_LIMITED',
  },
  { name: 'ai_training: no grant', purpose: 'ai_training', regime: 'CCPA', expect: 'exclude NO_CONSENT' },
  { name: 'ai_training: no grant, not-served field', purpose: 'ai_training', regime: 'CCPA', served: false, expect: 'exclude NO_CONSENT' },
  { name: 'ai_training: current grant', purpose: 'ai_training', regime: 'CCPA', consents: [{ action: 'GRANT' }], expect: 'allow CONSENT' },
  {
    name: 'ai_training: sensitive needs its own grant',
    purpose: 'ai_training',
    regime: 'CCPA',
    sensitive: true,
    consents: [{ action: 'GRANT' }],
    expect: 'mask SENSITIVE_REQUIRES_OPT_IN',
  },
  {
    name: 'a GDPR grant does not count after moving to California',
    purpose: 'ai_training',
    regime: 'CCPA',
    consents: [{ action: 'GRANT', regime: 'GDPR' }],
    expect: 'exclude NO_CONSENT',
  },
  {
    name: 'a GDPR withdrawal does not count under CCPA',
    purpose: 'marketing',
    regime: 'CCPA',
    consents: [{ action: 'WITHDRAW', regime: 'GDPR' }],
    expect: 'allow NOT_OPTED_OUT',
  },
];

const usStateRows: Row[] = [
  ...US_OPT_OUT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: allowed until opt-out`, purpose: p, regime: 'US_STATE', expect: 'allow NOT_OPTED_OUT' },
    { name: `${p}: opted out`, purpose: p, regime: 'US_STATE', consents: [{ action: 'OPT_OUT' }], expect: 'exclude OPTED_OUT' },
    { name: `${p}: sensitive needs an opt-in`, purpose: p, regime: 'US_STATE', sensitive: true, expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
    {
      name: `${p}: sensitive with an opt-in`,
      purpose: p,
      regime: 'US_STATE',
      sensitive: true,
      consents: [{ action: 'OPT_IN', sensitive: true }],
      expect: 'allow CONSENT',
    },
    {
      name: `${p}: sensitive opt-in, but opted out of ordinary use: excluded`,
      purpose: p,
      regime: 'US_STATE',
      sensitive: true,
      consents: [{ action: 'OPT_OUT' }, { action: 'OPT_IN', sensitive: true }],
      expect: 'exclude OPTED_OUT',
    },
  ]),
  {
    name: 'under 16: ad_sharing stays opt-out outside California',
    purpose: 'ad_sharing',
    regime: 'US_STATE',
    minor: true,
    expect: 'allow NOT_OPTED_OUT',
  },
  { name: 'ai_training: no grant', purpose: 'ai_training', regime: 'US_STATE', expect: 'exclude NO_CONSENT' },
  {
    name: 'ai_training: current grant',
    purpose: 'ai_training',
    regime: 'US_STATE',
    consents: [{ action: 'GRANT' }],
    expect: 'allow CONSENT',
  },
];

const denyRows: Row[] = REGIMES.flatMap((regime): Row[] => [
  {
    name: 'a DENY purpose',
    purpose: 'forbidden@v1',
    regime,
    consents: [{ action: 'GRANT', purpose: 'forbidden' }],
    expect: 'exclude DENIED',
  },
  {
    name: 'a DENY purpose, sensitive field',
    purpose: 'forbidden@v1',
    regime,
    sensitive: true,
    consents: [
      { action: 'GRANT', purpose: 'forbidden' },
      { action: 'GRANT', purpose: 'forbidden', sensitive: true },
    ],
    expect: 'exclude DENIED',
  },
  { name: 'a DENY purpose, not-served field', purpose: 'forbidden@v1', regime, served: false, expect: 'exclude DENIED' },
  { name: 'a DENY sensitive basis', purpose: 'no_sensitive@v1', regime, sensitive: true, expect: 'mask DENIED' },
  { name: 'a DENY sensitive basis leaves ordinary data alone', purpose: 'no_sensitive@v1', regime, expect: 'allow CONTRACT' },
  {
    name: 'a DENY sensitive basis, not-served sensitive field',
    purpose: 'no_sensitive@v1',
    regime,
    served: false,
    sensitive: true,
    expect: 'mask PURPOSE_NOT_SERVED',
  },
]);

/** NONE (unknown law) must decide exactly like GDPR. */
const noneRows: Row[] = gdprRows.map((row) => ({
  ...row,
  regime: 'NONE',
  consents: row.consents?.map((c) => ({ ...c, regime: c.regime === undefined || c.regime === 'GDPR' ? 'NONE' : c.regime })),
}));

const TABLE: Row[] = [...gdprRows, ...noneRows, ...contractRows, ...ccpaRows, ...usStateRows, ...denyRows];

function definition(key: string): PurposeDefinition {
  return VARIANTS.get(key) ?? purpose(key.replace(/@v\d+$/, ''));
}

function subjectOf(row: Row, def: PurposeDefinition): Subject {
  return {
    regime: row.regime,
    minor: row.minor ?? false,
    consents: (row.consents ?? []).map(
      (c): ConsentRecord => ({
        purposeKey: c.purpose ?? def.key,
        regime: c.regime ?? row.regime,
        sensitive: c.sensitive ?? false,
        action: c.action,
        purposeVersion: c.version ?? def.version,
        expiresAt: c.expiresAt ?? null,
      }),
    ),
  };
}

const field = (sensitive: boolean | undefined, serves: readonly string[] = ALL_KEYS) => ({
  serves,
  category: (sensitive ? 'sensitive' : 'contact') as DataCategory,
});

const classOf = (row: Row): FieldClass => (row.served === false ? 'not-served' : row.sensitive ? 'sensitive' : 'ordinary');

const show = (d: { effect: string; reason: string }) => `${d.effect} ${d.reason}`;

describe('decide', () => {
  it.each(
    TABLE.map((row) => ({
      ...row,
      title: `${row.regime} ${row.purpose}${row.sensitive ? ' [sensitive]' : ''}${row.served === false ? ' [not served]' : ''}${row.minor ? ' [minor]' : ''}: ${row.name}`,
    })),
  )('$title → $expect', (row) => {
    const def = definition(row.purpose);
    const subject = subjectOf(row, def);
    const cls = classOf(row);
    const tag = field(row.sensitive, row.served === false ? ALL_KEYS.filter((k) => k !== def.key) : ALL_KEYS);
    const decision = decide(def, tag, subject, NOW);
    expect(show(decision)).toBe(row.expect);

    // `decide` is `decideClass` on the field's class.
    expect(fieldClass(def, tag)).toBe(cls);
    expect(decideClass(def, cls, subject, NOW)).toBe(decision);

    // `permits` is the same decision without the "served" check.
    if (cls !== 'not-served') {
      expect(show(permits(def, subject, row.sensitive ?? false, NOW))).toBe(row.expect);
    }

    // Exclusion is about the subject, not the field: then every class is
    // excluded for the same reason; otherwise none is.
    for (const other of FIELD_CLASSES) {
      const d = decideClass(def, other, subject, NOW);
      if (decision.effect === 'exclude') expect(d).toEqual(decision);
      else expect(d.effect).not.toBe('exclude');
    }
    expect(permits(def, subject, false, NOW).effect === 'exclude').toBe(decision.effect === 'exclude');

    // The oracle shared by the property tests agrees with every row.
    const oracle = oracleDecision(def, tag, subject, NOW);
    expect(oracle.effect).toBe(decision.effect);
    expect(oracle.reasons).toContain(decision.reason);
  });

  it('the table reaches every effect and every reason', () => {
    const seen = new Set(TABLE.map((row) => row.expect));
    // CONSENT_UNAVAILABLE (no subject at all) has its own test below.
    const reasons = new Set([...TABLE.map((row) => row.expect.split(' ')[1]), 'CONSENT_UNAVAILABLE']);
    expect([...reasons].sort()).toEqual([...MASK_REASONS, 'CONTRACT', 'CONSENT', 'NOT_OPTED_OUT'].sort());
    for (const effect of ['allow', 'mask', 'exclude']) {
      expect([...seen].some((e) => e.startsWith(`${effect} `))).toBe(true);
    }
    // Every purpose of the taxonomy under every regime.
    for (const p of PURPOSE_KEYS)
      for (const r of REGIMES) {
        expect(
          TABLE.some((row) => row.purpose.replace(/@v\d+$/, '') === p && row.regime === r),
          `${p} × ${r}`,
        ).toBe(true);
      }
  });

  it.each(PURPOSES.map((p) => ({ key: p.key, def: p as PurposeDefinition })))(
    '$key: a field that does not serve the purpose is masked for a subject the purpose may process',
    ({ def }) => {
      const others = PURPOSE_KEYS.filter((k) => k !== def.key);
      const granted: Subject = {
        regime: 'GDPR',
        minor: false,
        consents: [false, true].map((sensitive) => ({
          purposeKey: def.key,
          regime: 'GDPR',
          sensitive,
          action: 'GRANT',
          purposeVersion: def.version,
          expiresAt: null,
        })),
      };
      expect(decide(def, field(false, others), granted, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
      expect(decide(def, field(true, []), granted, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
      expect(decideClass(def, 'not-served', granted, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
    },
  );

  it.each(PURPOSES.map((p) => ({ key: p.key, def: p as PurposeDefinition })))(
    '$key: consent that could not be loaded excludes, contract purposes included, whatever the field',
    ({ def }) => {
      const unavailable = { effect: 'exclude', reason: 'CONSENT_UNAVAILABLE' };
      for (const sensitive of [false, true]) {
        expect(decide(def, field(sensitive), undefined, NOW)).toEqual(unavailable);
        expect(decide(def, field(sensitive, []), undefined, NOW)).toEqual(unavailable);
        expect(permits(def, undefined, sensitive, NOW)).toEqual(unavailable);
      }
      for (const cls of FIELD_CLASSES) expect(decideClass(def, cls, undefined, NOW)).toEqual(unavailable);
      expect(oracleDecision(def, field(false), undefined, NOW)).toEqual({ effect: 'exclude', reasons: ['CONSENT_UNAVAILABLE'] });
    },
  );

  it('consent_management is a contract purpose: it needs no consent and ignores every record', () => {
    const def = purpose('consent_management');
    for (const regime of REGIMES) {
      expect(def.basis[regime]).toBe('CONTRACT');
      expect(def.sensitiveBasis[regime]).toBe('CONTRACT');
      const subject: Subject = {
        regime,
        minor: true,
        consents: (['WITHDRAW', 'OPT_OUT'] as const).flatMap((action) =>
          [false, true].map((sensitive) => ({
            purposeKey: def.key,
            regime,
            sensitive,
            action,
            purposeVersion: def.version,
            expiresAt: EARLIER,
          })),
        ),
      };
      expect(decide(def, field(false), subject, NOW)).toEqual({ effect: 'allow', reason: 'CONTRACT' });
      expect(decide(def, field(true), subject, NOW)).toEqual({ effect: 'allow', reason: 'CONTRACT' });
      expect(decide(def, field(true, ['transactional']), subject, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
    }
  });

  it('excludes under a regime it does not know (fail closed), whatever the field', () => {
    const subject = { regime: 'MARS', minor: false, consents: [] } as unknown as Subject;
    for (const key of ['transactional', 'consent_management', 'marketing']) {
      expect(decide(purpose(key), field(false), subject, NOW)).toEqual({ effect: 'exclude', reason: 'DENIED' });
      expect(decide(purpose(key), field(true), subject, NOW)).toEqual({ effect: 'exclude', reason: 'DENIED' });
      expect(decide(purpose(key), field(false, []), subject, NOW)).toEqual({ effect: 'exclude', reason: 'DENIED' });
    }
  });

  it('reads an expiry given as a string (a record from a JSON cache)', () => {
    const def = purpose('marketing');
    const record = (expiresAt: string) =>
      ({
        purposeKey: 'marketing',
        regime: 'GDPR',
        sensitive: false,
        action: 'GRANT',
        purposeVersion: 1,
        expiresAt,
      }) as unknown as ConsentRecord;
    const subject = (expiresAt: string): Subject => ({ regime: 'GDPR', minor: false, consents: [record(expiresAt)] });
    expect(show(decide(def, field(false), subject(LATER.toISOString()), NOW))).toBe('allow CONSENT');
    expect(show(decide(def, field(false), subject(EARLIER.toISOString()), NOW))).toBe('exclude EXPIRED');
  });

  it('returns frozen decisions', () => {
    const granted = (sensitive: boolean): ConsentRecord => ({
      purposeKey: 'marketing',
      regime: 'GDPR',
      sensitive,
      action: 'GRANT',
      purposeVersion: 1,
      expiresAt: null,
    });
    const decisions = [
      decide(purpose('transactional'), field(false), { regime: 'GDPR', minor: false, consents: [] }, NOW),
      decide(purpose('marketing'), field(false), { regime: 'GDPR', minor: false, consents: [] }, NOW),
      decide(purpose('marketing'), field(true), { regime: 'GDPR', minor: false, consents: [granted(false)] }, NOW),
      decide(purpose('marketing'), field(false, []), { regime: 'GDPR', minor: false, consents: [granted(false)] }, NOW),
      decide(purpose('marketing'), field(false), undefined, NOW),
    ];
    expect(decisions.map((d) => d.effect)).toEqual(['allow', 'exclude', 'mask', 'mask', 'exclude']);
    for (const d of decisions) expect(Object.isFrozen(d)).toBe(true);
  });

  it('lists every mask reason once', () => {
    expect(new Set(MASK_REASONS).size).toBe(MASK_REASONS.length);
    expect([...MASK_REASONS].sort()).toEqual([
      'CONSENT_OUTDATED',
      'CONSENT_UNAVAILABLE',
      'DENIED',
      'EXPIRED',
      'MINOR_REQUIRES_OPT_IN',
      'NO_CONSENT',
      'OPTED_OUT',
      'PURPOSE_NOT_SERVED',
      'SENSITIVE_LIMITED',
      'SENSITIVE_REQUIRES_OPT_IN',
      'WITHDRAWN',
    ]);
  });

  it('has a stable policy version', () => {
    expect(POLICY_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}\.\d+$/);
  });
});

describe('fieldClass', () => {
  it.each([
    { serves: ['marketing'], category: 'contact', cls: 'ordinary' },
    { serves: ['marketing', 'analytics'], category: 'sensitive', cls: 'sensitive' },
    { serves: ['analytics'], category: 'contact', cls: 'not-served' },
    { serves: ['analytics'], category: 'sensitive', cls: 'not-served' },
    { serves: [], category: 'identifier', cls: 'not-served' },
  ] as const)('$serves / $category under marketing → $cls', ({ serves, category, cls }) => {
    expect(fieldClass(purpose('marketing'), { serves, category })).toBe(cls);
  });
});

describe('basisFor', () => {
  it.each([
    { purpose: 'marketing', regime: 'GDPR', minor: false, sensitive: false, basis: 'OPT_IN' },
    { purpose: 'marketing', regime: 'CCPA', minor: false, sensitive: false, basis: 'OPT_OUT' },
    { purpose: 'marketing', regime: 'CCPA', minor: true, sensitive: false, basis: 'OPT_OUT' },
    { purpose: 'marketing', regime: 'CCPA', minor: false, sensitive: true, basis: 'OPT_OUT' },
    { purpose: 'marketing', regime: 'US_STATE', minor: false, sensitive: true, basis: 'OPT_IN' },
    { purpose: 'marketing', regime: 'NONE', minor: false, sensitive: false, basis: 'OPT_IN' },
    { purpose: 'ad_sharing', regime: 'CCPA', minor: false, sensitive: false, basis: 'OPT_OUT' },
    { purpose: 'ad_sharing', regime: 'CCPA', minor: true, sensitive: false, basis: 'OPT_IN' },
    { purpose: 'ad_sharing', regime: 'CCPA', minor: true, sensitive: true, basis: 'OPT_OUT' },
    { purpose: 'ad_sharing', regime: 'US_STATE', minor: true, sensitive: false, basis: 'OPT_OUT' },
    { purpose: 'ai_training', regime: 'CCPA', minor: false, sensitive: false, basis: 'OPT_IN' },
    { purpose: 'transactional', regime: 'GDPR', minor: true, sensitive: true, basis: 'CONTRACT' },
    { purpose: 'consent_management', regime: 'GDPR', minor: false, sensitive: false, basis: 'CONTRACT' },
    { purpose: 'consent_management', regime: 'CCPA', minor: true, sensitive: true, basis: 'CONTRACT' },
    { purpose: 'consent_management', regime: 'NONE', minor: true, sensitive: false, basis: 'CONTRACT' },
  ] as const)('$purpose under $regime (minor: $minor, sensitive: $sensitive) → $basis', (row) => {
    expect(basisFor(purpose(row.purpose), row.regime, row.minor, row.sensitive)).toBe(row.basis);
  });

  it('gives DENY for a regime it does not know', () => {
    expect(basisFor(purpose('transactional'), 'MARS' as Regime, false, false)).toBe('DENY');
    expect(basisFor(purpose('transactional'), 'MARS' as Regime, false, true)).toBe('DENY');
  });
});
