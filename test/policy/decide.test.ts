import { describe, expect, it } from 'vitest';
import {
  POLICY_VERSION,
  PURPOSES,
  PURPOSE_KEYS,
  basisFor,
  decide,
  findPurpose,
  permits,
  type ConsentAction,
  type ConsentRecord,
  type DataCategory,
  type PurposeDefinition,
  type Regime,
  type Subject,
} from '../../src/policy/index.ts';

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
  sensitive?: boolean;
  minor?: boolean;
  expect: string;
}

const CONSENT_PURPOSES = ['marketing', 'analytics', 'personalization', 'ai_training', 'ad_sharing'];
const US_OPT_OUT_PURPOSES = ['marketing', 'analytics', 'personalization', 'ad_sharing'];

/** Rows written for GDPR; the same rows must hold for NONE (unknown law = strictest). */
const gdprRows: Row[] = [
  ...CONSENT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: no grant`, purpose: p, regime: 'GDPR', expect: 'mask NO_CONSENT' },
    { name: `${p}: current grant`, purpose: p, regime: 'GDPR', consents: [{ action: 'GRANT' }], expect: 'allow CONSENT' },
    { name: `${p}: current OPT_IN`, purpose: p, regime: 'GDPR', consents: [{ action: 'OPT_IN' }], expect: 'allow CONSENT' },
    { name: `${p}: withdrawn`, purpose: p, regime: 'GDPR', consents: [{ action: 'WITHDRAW' }], expect: 'mask WITHDRAWN' },
    { name: `${p}: opted out`, purpose: p, regime: 'GDPR', consents: [{ action: 'OPT_OUT' }], expect: 'mask OPTED_OUT' },
    { name: `${p}: expired grant`, purpose: p, regime: 'GDPR', consents: [{ action: 'GRANT', expiresAt: EARLIER }], expect: 'mask EXPIRED' },
    { name: `${p}: sensitive field, ordinary grant only`, purpose: p, regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT' }], expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
    { name: `${p}: sensitive field, both grants`, purpose: p, regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT' }, { action: 'GRANT', sensitive: true }], expect: 'allow CONSENT' },
    { name: `${p}: sensitive field, sensitive grant only`, purpose: p, regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT', sensitive: true }], expect: 'mask NO_CONSENT' },
    { name: `${p}: a minor needs no more than the grant`, purpose: p, regime: 'GDPR', minor: true, expect: 'mask NO_CONSENT' },
  ]),
  { name: 'sensitive grant withdrawn', purpose: 'marketing', regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT' }, { action: 'WITHDRAW', sensitive: true }], expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
  { name: 'sensitive grant expired', purpose: 'marketing', regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT' }, { action: 'GRANT', sensitive: true, expiresAt: EARLIER }], expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
  { name: 'sensitive grant for an old version', purpose: 'marketing@v2', regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT', version: 2 }, { action: 'GRANT', sensitive: true, version: 1 }], expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
  { name: 'sensitive opt-out', purpose: 'marketing', regime: 'GDPR', sensitive: true, consents: [{ action: 'GRANT' }, { action: 'OPT_OUT', sensitive: true }], expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
  { name: 'ordinary withdrawn beats a sensitive grant', purpose: 'marketing', regime: 'GDPR', sensitive: true, consents: [{ action: 'WITHDRAW' }, { action: 'GRANT', sensitive: true }], expect: 'mask WITHDRAWN' },
  { name: 'grant for version 1, purpose at version 2', purpose: 'marketing@v2', regime: 'GDPR', consents: [{ action: 'GRANT', version: 1 }], expect: 'mask CONSENT_OUTDATED' },
  { name: 'grant for version 2, purpose at version 2', purpose: 'marketing@v2', regime: 'GDPR', consents: [{ action: 'GRANT', version: 2 }], expect: 'allow CONSENT' },
  { name: 'grant for a later version than the purpose', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', version: 2 }], expect: 'mask CONSENT_OUTDATED' },
  { name: 'grant expiring later', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', expiresAt: LATER }], expect: 'allow CONSENT' },
  { name: 'grant expiring exactly now', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', expiresAt: NOW }], expect: 'mask EXPIRED' },
  { name: 'grant with an invalid expiry', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', expiresAt: new Date('nonsense') }], expect: 'mask EXPIRED' },
  { name: 'grant then withdraw (both given)', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT' }, { action: 'WITHDRAW' }], expect: 'mask WITHDRAWN' },
  { name: 'several records: any negative wins', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT' }, { action: 'GRANT', expiresAt: EARLIER }], expect: 'mask EXPIRED' },
  { name: 'several records: withdrawal outranks the rest', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', expiresAt: EARLIER }, { action: 'OPT_OUT' }, { action: 'WITHDRAW' }], expect: 'mask WITHDRAWN' },
  { name: 'an unknown action is not a grant', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'MAYBE' as ConsentAction }], expect: 'mask WITHDRAWN' },
  { name: 'a grant for another purpose does not count', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', purpose: 'analytics' }], expect: 'mask NO_CONSENT' },
  { name: 'a CCPA opt-out leaves the GDPR grant alone', purpose: 'ad_sharing', regime: 'GDPR', consents: [{ action: 'GRANT' }, { action: 'OPT_OUT', regime: 'CCPA' }], expect: 'allow CONSENT' },
  { name: 'a CCPA-regime record is no GDPR grant', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', regime: 'CCPA' }], expect: 'mask NO_CONSENT' },
  { name: 'a sensitive-scope record is no ordinary grant', purpose: 'marketing', regime: 'GDPR', consents: [{ action: 'GRANT', sensitive: true }], expect: 'mask NO_CONSENT' },
];

const contractRows: Row[] = (['GDPR', 'CCPA', 'US_STATE', 'NONE'] as const).flatMap((regime) =>
  ['transactional', 'support'].flatMap((p): Row[] => [
    { name: `${p}: by contract`, purpose: p, regime, expect: 'allow CONTRACT' },
    { name: `${p}: sensitive by contract`, purpose: p, regime, sensitive: true, expect: 'allow CONTRACT' },
    { name: `${p}: a minor, by contract`, purpose: p, regime, minor: true, sensitive: true, expect: 'allow CONTRACT' },
    { name: `${p}: withdrawals do not stop the contract`, purpose: p, regime, sensitive: true, consents: [{ action: 'WITHDRAW' }, { action: 'OPT_OUT', sensitive: true }], expect: 'allow CONTRACT' },
  ]),
);

const ccpaRows: Row[] = [
  ...US_OPT_OUT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: allowed until opt-out`, purpose: p, regime: 'CCPA', expect: 'allow NOT_OPTED_OUT' },
    { name: `${p}: opted out (GPC signal included)`, purpose: p, regime: 'CCPA', consents: [{ action: 'OPT_OUT' }], expect: 'mask OPTED_OUT' },
    { name: `${p}: withdrawn`, purpose: p, regime: 'CCPA', consents: [{ action: 'WITHDRAW' }], expect: 'mask WITHDRAWN' },
    { name: `${p}: a grant changes nothing`, purpose: p, regime: 'CCPA', consents: [{ action: 'GRANT' }], expect: 'allow NOT_OPTED_OUT' },
    { name: `${p}: sensitive, not limited`, purpose: p, regime: 'CCPA', sensitive: true, expect: 'allow NOT_OPTED_OUT' },
    { name: `${p}: sensitive after a right-to-limit opt-out`, purpose: p, regime: 'CCPA', sensitive: true, consents: [{ action: 'OPT_OUT', sensitive: true }], expect: 'mask SENSITIVE_LIMITED' },
    { name: `${p}: sensitive-scope opt-out leaves ordinary data alone`, purpose: p, regime: 'CCPA', consents: [{ action: 'OPT_OUT', sensitive: true }], expect: 'allow NOT_OPTED_OUT' },
    { name: `${p}: ordinary opt-out masks sensitive fields too`, purpose: p, regime: 'CCPA', sensitive: true, consents: [{ action: 'OPT_OUT' }], expect: 'mask OPTED_OUT' },
  ]),
  { name: 'sensitive-scope withdrawal limits too', purpose: 'marketing', regime: 'CCPA', sensitive: true, consents: [{ action: 'WITHDRAW', sensitive: true }], expect: 'mask SENSITIVE_LIMITED' },
  { name: 'ad_sharing opt-out leaves marketing allowed', purpose: 'marketing', regime: 'CCPA', consents: [{ action: 'OPT_OUT', purpose: 'ad_sharing' }], expect: 'allow NOT_OPTED_OUT' },
  { name: 'an opt-out holds whatever its version and expiry', purpose: 'marketing@v2', regime: 'CCPA', consents: [{ action: 'OPT_OUT', version: 1, expiresAt: EARLIER }], expect: 'mask OPTED_OUT' },
  { name: 'no record needed after a version bump', purpose: 'marketing@v2', regime: 'CCPA', expect: 'allow NOT_OPTED_OUT' },
  { name: 'under 16: ad_sharing needs an opt-in', purpose: 'ad_sharing', regime: 'CCPA', minor: true, expect: 'mask MINOR_REQUIRES_OPT_IN' },
  { name: 'under 16: ad_sharing with an opt-in', purpose: 'ad_sharing', regime: 'CCPA', minor: true, consents: [{ action: 'OPT_IN' }], expect: 'allow CONSENT' },
  { name: 'under 16: ad_sharing with an expired opt-in', purpose: 'ad_sharing', regime: 'CCPA', minor: true, consents: [{ action: 'OPT_IN', expiresAt: EARLIER }], expect: 'mask EXPIRED' },
  { name: 'under 16: ad_sharing opted out', purpose: 'ad_sharing', regime: 'CCPA', minor: true, consents: [{ action: 'OPT_OUT' }], expect: 'mask OPTED_OUT' },
  { name: 'under 16: marketing stays opt-out', purpose: 'marketing', regime: 'CCPA', minor: true, expect: 'allow NOT_OPTED_OUT' },
  { name: 'under 16: sensitive ad_sharing keeps the right to limit', purpose: 'ad_sharing', regime: 'CCPA', minor: true, sensitive: true, consents: [{ action: 'OPT_IN' }, { action: 'OPT_OUT', sensitive: true }], expect: 'mask SENSITIVE_LIMITED' },
  { name: 'ai_training: no grant', purpose: 'ai_training', regime: 'CCPA', expect: 'mask NO_CONSENT' },
  { name: 'ai_training: current grant', purpose: 'ai_training', regime: 'CCPA', consents: [{ action: 'GRANT' }], expect: 'allow CONSENT' },
  { name: 'ai_training: sensitive needs its own grant', purpose: 'ai_training', regime: 'CCPA', sensitive: true, consents: [{ action: 'GRANT' }], expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
  { name: 'a GDPR grant does not count after moving to California', purpose: 'ai_training', regime: 'CCPA', consents: [{ action: 'GRANT', regime: 'GDPR' }], expect: 'mask NO_CONSENT' },
  { name: 'a GDPR withdrawal does not count under CCPA', purpose: 'marketing', regime: 'CCPA', consents: [{ action: 'WITHDRAW', regime: 'GDPR' }], expect: 'allow NOT_OPTED_OUT' },
];

const usStateRows: Row[] = [
  ...US_OPT_OUT_PURPOSES.flatMap((p): Row[] => [
    { name: `${p}: allowed until opt-out`, purpose: p, regime: 'US_STATE', expect: 'allow NOT_OPTED_OUT' },
    { name: `${p}: opted out`, purpose: p, regime: 'US_STATE', consents: [{ action: 'OPT_OUT' }], expect: 'mask OPTED_OUT' },
    { name: `${p}: sensitive needs an opt-in`, purpose: p, regime: 'US_STATE', sensitive: true, expect: 'mask SENSITIVE_REQUIRES_OPT_IN' },
    { name: `${p}: sensitive with an opt-in`, purpose: p, regime: 'US_STATE', sensitive: true, consents: [{ action: 'OPT_IN', sensitive: true }], expect: 'allow CONSENT' },
  ]),
  { name: 'under 16: ad_sharing stays opt-out outside California', purpose: 'ad_sharing', regime: 'US_STATE', minor: true, expect: 'allow NOT_OPTED_OUT' },
  { name: 'ai_training: no grant', purpose: 'ai_training', regime: 'US_STATE', expect: 'mask NO_CONSENT' },
  { name: 'ai_training: current grant', purpose: 'ai_training', regime: 'US_STATE', consents: [{ action: 'GRANT' }], expect: 'allow CONSENT' },
];

const denyRows: Row[] = (['GDPR', 'CCPA', 'US_STATE', 'NONE'] as const).flatMap((regime): Row[] => [
  { name: 'a DENY purpose', purpose: 'forbidden@v1', regime, consents: [{ action: 'GRANT', purpose: 'forbidden' }], expect: 'mask DENIED' },
  { name: 'a DENY sensitive basis', purpose: 'no_sensitive@v1', regime, sensitive: true, expect: 'mask DENIED' },
  { name: 'a DENY sensitive basis leaves ordinary data alone', purpose: 'no_sensitive@v1', regime, expect: 'allow CONTRACT' },
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

const field = (sensitive: boolean | undefined, serves: readonly string[] = [...PURPOSE_KEYS, 'forbidden', 'no_sensitive']) => ({
  serves,
  category: (sensitive ? 'sensitive' : 'contact') as DataCategory,
});

const show = (d: { effect: string; reason: string }) => `${d.effect} ${d.reason}`;

describe('decide', () => {
  it.each(TABLE.map((row) => ({ ...row, title: `${row.regime} ${row.purpose}${row.sensitive ? ' [sensitive]' : ''}${row.minor ? ' [minor]' : ''}: ${row.name}` })))(
    '$title → $expect',
    (row) => {
      const def = definition(row.purpose);
      const subject = subjectOf(row, def);
      expect(show(decide(def, field(row.sensitive), subject, NOW))).toBe(row.expect);
      // `permits` is the same decision without the "served" check.
      expect(show(permits(def, subject, row.sensitive ?? false, NOW))).toBe(row.expect);
    },
  );

  it.each(PURPOSES.map((p) => ({ key: p.key, def: p as PurposeDefinition })))(
    '$key: a field that does not serve the purpose is masked, whatever the consent',
    ({ def }) => {
      const others = PURPOSE_KEYS.filter((k) => k !== def.key);
      const granted: Subject = {
        regime: 'GDPR',
        minor: false,
        consents: [false, true].map((sensitive) => ({ purposeKey: def.key, regime: 'GDPR', sensitive, action: 'GRANT', purposeVersion: def.version, expiresAt: null })),
      };
      expect(decide(def, field(false, others), granted, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
      expect(decide(def, field(true, []), granted, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
      // Not served takes precedence over unavailable consent.
      expect(decide(def, field(false, others), undefined, NOW)).toEqual({ effect: 'mask', reason: 'PURPOSE_NOT_SERVED' });
    },
  );

  it.each(PURPOSES.map((p) => ({ key: p.key, def: p as PurposeDefinition })))(
    '$key: consent that could not be loaded masks, contract purposes included',
    ({ def }) => {
      for (const sensitive of [false, true]) {
        expect(decide(def, field(sensitive), undefined, NOW)).toEqual({ effect: 'mask', reason: 'CONSENT_UNAVAILABLE' });
        expect(permits(def, undefined, sensitive, NOW)).toEqual({ effect: 'mask', reason: 'CONSENT_UNAVAILABLE' });
      }
    },
  );

  it('masks under a regime it does not know (fail closed)', () => {
    const subject = { regime: 'MARS', minor: false, consents: [] } as unknown as Subject;
    expect(decide(purpose('transactional'), field(false), subject, NOW)).toEqual({ effect: 'mask', reason: 'DENIED' });
  });

  it('reads an expiry given as a string (a record from a JSON cache)', () => {
    const def = purpose('marketing');
    const record = (expiresAt: string) =>
      ({ purposeKey: 'marketing', regime: 'GDPR', sensitive: false, action: 'GRANT', purposeVersion: 1, expiresAt }) as unknown as ConsentRecord;
    const subject = (expiresAt: string): Subject => ({ regime: 'GDPR', minor: false, consents: [record(expiresAt)] });
    expect(show(decide(def, field(false), subject(LATER.toISOString()), NOW))).toBe('allow CONSENT');
    expect(show(decide(def, field(false), subject(EARLIER.toISOString()), NOW))).toBe('mask EXPIRED');
  });

  it('returns frozen decisions', () => {
    const d = decide(purpose('transactional'), field(false), { regime: 'GDPR', minor: false, consents: [] }, NOW);
    expect(Object.isFrozen(d)).toBe(true);
  });

  it('has a stable policy version', () => {
    expect(POLICY_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}\.\d+$/);
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
  ] as const)('$purpose under $regime (minor: $minor, sensitive: $sensitive) → $basis', (row) => {
    expect(basisFor(purpose(row.purpose), row.regime, row.minor, row.sensitive)).toBe(row.basis);
  });

  it('gives DENY for a regime it does not know', () => {
    expect(basisFor(purpose('transactional'), 'MARS' as Regime, false, false)).toBe('DENY');
    expect(basisFor(purpose('transactional'), 'MARS' as Regime, false, true)).toBe('DENY');
  });
});
