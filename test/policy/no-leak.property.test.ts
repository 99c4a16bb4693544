import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMasker, maskFitsType, REDACTED, type MaskSpec } from '../../src/masking/index.ts';
import {
  DATA_CATEGORIES,
  PURPOSES,
  PURPOSE_KEYS,
  REGIMES,
  decide,
  type Basis,
  type ConsentAction,
  type ConsentRecord,
  type FieldTag,
  type PurposeDefinition,
  type Regime,
  type Subject,
} from '../../src/policy/index.ts';

// The invariant of the product: a tagged value leaves unmasked only when the
// rules allow it. `decide` is checked against an oracle written separately,
// straight from the rules, and every mask against the plaintext it hides.

const NOW = new Date('2026-06-01T12:00:00Z');
const HOUR = 60 * 60 * 1000;
const KEY_ID = 'k1';
const masker = createMasker({
  current: { id: KEY_ID, secret: Buffer.from('property-test-secret-of-sufficient-length') },
  previous: [],
});

const STRING_MASKS: MaskSpec[] = [
  { strategy: 'null' },
  { strategy: 'redact' },
  { strategy: 'hmac' },
  { strategy: 'partial', kind: 'email' },
  { strategy: 'partial', kind: 'phone' },
  { strategy: 'partial', kind: 'text' },
  { strategy: 'generalize', kind: 'year' },
  { strategy: 'generalize', kind: 'prefix' },
  { strategy: 'generalize', kind: 'prefix', length: 4 },
  { strategy: 'generalize', kind: 'region' },
];

// ---- the oracle ------------------------------------------------------------

function oracleAllows(purpose: PurposeDefinition, field: FieldTag, subject: Subject | undefined, now: Date): boolean {
  if (!field.serves.includes(purpose.key)) return false;
  if (!subject) return false;
  const scope = (sensitive: boolean) =>
    subject.consents.filter((r) => r.regime === subject.regime && r.purposeKey === purpose.key && r.sensitive === sensitive);
  const isValidGrant = (r: ConsentRecord) =>
    (r.action === 'GRANT' || r.action === 'OPT_IN') &&
    r.purposeVersion === purpose.version &&
    (r.expiresAt === null || r.expiresAt.getTime() > now.getTime());
  const isOptOut = (r: ConsentRecord) => r.action === 'OPT_OUT' || r.action === 'WITHDRAW';
  const satisfied = (basis: Basis, records: ConsentRecord[]) => {
    if (basis === 'CONTRACT') return true;
    if (basis === 'DENY') return false;
    if (basis === 'OPT_OUT') return !records.some(isOptOut);
    return records.length > 0 && records.every(isValidGrant);
  };

  let basis = purpose.basis[subject.regime];
  if (subject.minor && basis === 'OPT_OUT' && purpose.minorsOptIn?.includes(subject.regime)) basis = 'OPT_IN';
  if (!satisfied(basis, scope(false))) return false;
  if (field.category !== 'sensitive') return true;
  return satisfied(purpose.sensitiveBasis[subject.regime], scope(true));
}

// ---- generators ------------------------------------------------------------

const ACTIONS: ConsentAction[] = ['GRANT', 'WITHDRAW', 'OPT_OUT', 'OPT_IN'];

const purposeArb = fc
  .tuple(fc.constantFrom(...(PURPOSES as readonly PurposeDefinition[])), fc.integer({ min: 1, max: 2 }))
  .map(([p, version]): PurposeDefinition => ({ ...p, version }));

const fieldArb: fc.Arbitrary<FieldTag> = fc.record({
  serves: fc.subarray([...PURPOSE_KEYS]),
  category: fc.oneof(fc.constant('sensitive' as const), fc.constantFrom(...DATA_CATEGORIES)),
});

/** Records lean towards the purpose and regime under test, or few would ever count. */
const recordArb = (purposeKey: string, regime: Regime): fc.Arbitrary<ConsentRecord> =>
  fc.record({
    purposeKey: fc.oneof({ arbitrary: fc.constant(purposeKey), weight: 3 }, { arbitrary: fc.constantFrom(...PURPOSE_KEYS), weight: 1 }),
    regime: fc.oneof({ arbitrary: fc.constant(regime), weight: 3 }, { arbitrary: fc.constantFrom(...REGIMES), weight: 1 }),
    sensitive: fc.boolean(),
    action: fc.constantFrom(...ACTIONS),
    purposeVersion: fc.integer({ min: 1, max: 2 }),
    expiresAt: fc.option(
      fc.integer({ min: -48, max: 48 }).map((h) => new Date(NOW.getTime() + h * HOUR)),
      { nil: null },
    ),
  });

const subjectArb = (purpose: PurposeDefinition): fc.Arbitrary<Subject | undefined> =>
  fc.option(
    fc.tuple(fc.constantFrom(...REGIMES), fc.boolean()).chain(([regime, minor]) =>
      fc.array(recordArb(purpose.key, regime), { maxLength: 4 }).map((consents): Subject => ({ regime, minor, consents })),
    ),
    { nil: undefined, freq: 10 },
  );

/**
 * Plaintexts a data set holds. Left out: values containing `*` (the mask
 * character: a plaintext made of it is indistinguishable from its mask),
 * fragments of the masks' fixed text, and values that already are a region
 * ("52,13"), which generalising leaves as they are.
 */
const secretArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.emailAddress(),
    fc.stringMatching(/^\+?[0-9 ()-]{4,18}$/),
    fc.date({ min: new Date('1900-01-01'), max: new Date('2030-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
    fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true })).map(([a, b]) => `${a.toFixed(4)},${b.toFixed(4)}`),
    fc.stringMatching(/^[0-9A-Z]{4,8}$/),
    fc.string({ minLength: 4, maxLength: 30 }),
    fc.string({ minLength: 4, maxLength: 30, unit: 'grapheme' }),
  )
  .filter(
    (s) =>
      !s.includes('*') &&
      !REDACTED.includes(s) &&
      !`hmac:${KEY_ID}:`.includes(s) &&
      !/^\s*-?\d+\s*,\s*-?\d+\s*$/.test(s),
  );

const maskArb = fc.constantFrom(...STRING_MASKS);

// ---- the resolver under test -------------------------------------------------

/** What a field resolver does: the value if the decision allows, else its mask. */
function resolve(purpose: PurposeDefinition, field: FieldTag, subject: Subject | undefined, value: string, mask: MaskSpec) {
  const decision = decide(purpose, field, subject, NOW);
  return { decision, output: decision.effect === 'allow' ? value : masker.apply(mask, value, purpose.key) };
}

const reveals = (output: unknown, secret: string): boolean =>
  output === secret || (secret.length >= 4 && typeof output === 'string' && output.includes(secret)) ||
  (Array.isArray(output) && output.some((o) => reveals(o, secret)));

describe('no leak', () => {
  it('every mask used fits String', () => {
    for (const spec of STRING_MASKS) expect(maskFitsType(spec, 'String')).toBeNull();
  });

  it('returns a plaintext only when decide and the independent oracle both allow', () => {
    fc.assert(
      fc.property(
        purposeArb.chain((purpose) => fc.tuple(fc.constant(purpose), fieldArb, subjectArb(purpose), secretArb, maskArb)),
        ([purpose, field, subject, secret, mask]) => {
          const { decision, output } = resolve(purpose, field, subject, secret, mask);
          const oracle = oracleAllows(purpose, field, subject, NOW);
          if (reveals(output, secret)) {
            expect(decision.effect).toBe('allow');
            expect(oracle).toBe(true);
          }
          // Stronger: the two agree both ways, so nothing is masked the rules allow.
          expect(decision.effect === 'allow').toBe(oracle);
          expect(['CONTRACT', 'CONSENT', 'NOT_OPTED_OUT'].includes(decision.reason)).toBe(oracle);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('no mask output contains the plaintext', () => {
    fc.assert(
      fc.property(purposeArb, secretArb, maskArb, (purpose, secret, mask) => {
        const output = masker.apply(mask, secret, purpose.key);
        expect(reveals(output, secret)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('reaches every decision reason the taxonomy can produce', () => {
    // Guards the generators: a property over inputs that never allow proves nothing.
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        purposeArb.chain((purpose) => fc.tuple(fc.constant(purpose), fieldArb, subjectArb(purpose))),
        ([purpose, field, subject]) => {
          seen.add(decide(purpose, field, subject, NOW).reason);
        },
      ),
      { numRuns: 3000 },
    );
    expect([...seen].sort()).toEqual(
      [
        'CONSENT',
        'CONSENT_OUTDATED',
        'CONSENT_UNAVAILABLE',
        'CONTRACT',
        'EXPIRED',
        'MINOR_REQUIRES_OPT_IN',
        'NOT_OPTED_OUT',
        'NO_CONSENT',
        'OPTED_OUT',
        'PURPOSE_NOT_SERVED',
        'SENSITIVE_LIMITED',
        'SENSITIVE_REQUIRES_OPT_IN',
        'WITHDRAWN',
      ].sort(),
    );
  });
});
