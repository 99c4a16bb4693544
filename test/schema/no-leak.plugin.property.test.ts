import SchemaBuilder from '@pothos/core';
import fc from 'fast-check';
import { execute, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import ConsentPlugin, { RequestConsent, type PurposeTagOptions } from '../../src/schema/consent-plugin/index.ts';
import { createMasker, type MaskSpec } from '../../src/masking/index.ts';
import {
  DATA_CATEGORIES,
  MASK_REASONS,
  PURPOSES,
  PURPOSE_KEYS,
  REGIMES,
  type ConsentAction,
  type ConsentRecord,
  type DataCategory,
  type PurposeDefinition,
  type PurposeKey,
  type Regime,
  type Subject,
} from '../../src/policy/index.ts';
import { ALLOW_REASONS, oracleDecision, REACHABLE_OUTCOMES } from '../support/policy-oracle.ts';

// The no-leak invariant end to end through the Pothos plugin: for field tags,
// purposes and consent histories, a tagged value comes back
// - in clear exactly when the rules allow it,
// - as the field's mask of it (never containing it) when the subject may be
//   processed for the purpose but the field may not be read,
// - as null (no token, no partial value) when the subject is excluded.
// The expected outcome comes from an oracle written from the rules
// (test/support/policy-oracle.ts), not from decide(). The generators lean
// towards the histories that matter, and a guard checks after the run that
// every outcome was reached often enough for the property to mean something.

const NOW = new Date('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEY_ID = 'k1';
const masker = createMasker({ current: { id: KEY_ID, secret: Buffer.from('no-leak-plugin-property-test-secret') }, previous: [] });

const NUM_RUNS = 1500;
/**
 * Random by default: a property failure prints its seed, and so does a guard
 * failure; set NO_LEAK_SEED to replay a run, NO_LEAK_REPORT=1 to print how
 * often each outcome was reached. Over 200 seeds the rarest outcomes came 10
 * (exclude MINOR_REQUIRES_OPT_IN) and 13 (mask SENSITIVE_LIMITED) times at
 * least, 24 and 26 times in the median: the bound of MIN_HITS holds robustly.
 */
const SEED = process.env.NO_LEAK_SEED ? Number(process.env.NO_LEAK_SEED) : Math.floor(Math.random() * 2 ** 31);
/** How often each outcome must be reached in one run. */
const MIN_HITS = 5;

const STRING_MASKS: MaskSpec[] = [
  { strategy: 'null' },
  { strategy: 'redact' },
  { strategy: 'hmac' },
  { strategy: 'partial', kind: 'text' },
  { strategy: 'generalize', kind: 'prefix' },
];

const REACHABLE = REACHABLE_OUTCOMES;

/**
 * A schema with one personal-data type, Person, whose fields all serve
 * `serves`: one field per data category and mask, so that a query selects
 * the one field under test. Building a schema takes milliseconds, so they
 * are built once per `serves` set; the value comes from the context.
 */
function fieldName(category: DataCategory, mask: MaskSpec): string {
  const index = STRING_MASKS.indexOf(mask);
  if (index < 0) throw new Error(`not one of STRING_MASKS: ${JSON.stringify(mask)}`);
  return `${category}_${index}`;
}
const schemas = new Map<string, GraphQLSchema>();
function schemaFor(serves: readonly PurposeKey[]): GraphQLSchema {
  const key = [...serves].sort().join(',');
  let schema = schemas.get(key);
  if (!schema) {
    const builder = new SchemaBuilder<{ Context: { secret: string } }>({ plugins: [ConsentPlugin] } as never);
    const Person = builder.objectRef<{ id: string; secret: string }>('Person').implement({
      personalData: { subject: (p) => p.id },
      fields: (t) =>
        Object.fromEntries(
          DATA_CATEGORIES.flatMap((category) =>
            STRING_MASKS.map((mask) => [fieldName(category, mask), t.exposeString('secret', { purpose: { serves, category, mask } })]),
          ),
        ),
    });
    builder.queryType({
      fields: (t) => ({ person: t.field({ type: Person, resolve: (_root, _args, ctx) => ({ id: 'p1', secret: ctx.secret }) }) }),
    });
    schema = builder.toSchema();
    schemas.set(key, schema);
  }
  return schema;
}
const queries = new Map<string, DocumentNode>();
const queryFor = (field: string) => queries.get(field) ?? queries.set(field, parse(`{ person { ${field} } }`)).get(field)!;

// ---- generators --------------------------------------------------------------
// Uniform generators almost never produce a history that counts (a current,
// unexpired grant in the subject's own regime for the purpose under test), so
// these lean towards it: records mostly in the subject's regime, for the
// purpose, valid grants frequent, versions mostly current, expiries on both
// sides of now; plus records that must not count (other purpose, other regime).

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

const expiryArb: fc.Arbitrary<Date | null> = fc.oneof(
  w(2, fc.constant(null)),
  w(
    1,
    fc.integer({ min: 1, max: 30 * 24 }).map((h) => new Date(NOW.getTime() + h * HOUR)),
  ),
  // 0: expiring exactly now, which is expired.
  w(
    2,
    fc.integer({ min: 0, max: 30 * 24 }).map((h) => new Date(NOW.getTime() - h * HOUR)),
  ),
);

const versionArb = (p: PurposeDefinition) => fc.oneof(w(4, fc.constant(p.version)), w(1, fc.constantFrom(p.version - 1, p.version + 1)));

const actionArb: fc.Arbitrary<ConsentAction> = fc.oneof(
  w(2, fc.constant<ConsentAction>('GRANT')),
  w(1, fc.constant<ConsentAction>('OPT_IN')),
  w(1, fc.constant<ConsentAction>('WITHDRAW')),
  w(1, fc.constant<ConsentAction>('OPT_OUT')),
);

/** A record in the scope under test: the subject's regime, the purpose, one scope. */
const recordIn = (p: PurposeDefinition, regime: Regime, sensitive: boolean, action = actionArb) =>
  fc.record<ConsentRecord>({
    purposeKey: fc.constant(p.key),
    regime: fc.constant(regime),
    sensitive: fc.constant(sensitive),
    action,
    purposeVersion: versionArb(p),
    expiresAt: expiryArb,
  });

const validGrant = (p: PurposeDefinition, regime: Regime, sensitive: boolean) =>
  fc.record<ConsentRecord>({
    purposeKey: fc.constant(p.key),
    regime: fc.constant(regime),
    sensitive: fc.constant(sensitive),
    action: fc.constantFrom<ConsentAction>('GRANT', 'OPT_IN'),
    purposeVersion: fc.constant(p.version),
    expiresAt: fc.option(
      fc.integer({ min: 1, max: 365 }).map((d) => new Date(NOW.getTime() + d * DAY)),
      { nil: null },
    ),
  });

/** The history of one scope (ordinary or sensitive): none, a valid grant, a negative, any one or several. */
const scopeArb = (p: PurposeDefinition, regime: Regime, sensitive: boolean): fc.Arbitrary<ConsentRecord[]> =>
  fc.oneof(
    w(3, fc.constant<ConsentRecord[]>([])),
    w(
      5,
      validGrant(p, regime, sensitive).map((r) => [r]),
    ),
    w(
      2,
      recordIn(p, regime, sensitive, fc.constantFrom<ConsentAction>('WITHDRAW', 'OPT_OUT')).map((r) => [r]),
    ),
    w(
      3,
      recordIn(p, regime, sensitive).map((r) => [r]),
    ),
    w(1, fc.array(recordIn(p, regime, sensitive), { minLength: 2, maxLength: 3 })),
  );

/** Records that mostly should not count: another purpose or another regime (or, by chance, the same). */
const noiseArb = (p: PurposeDefinition) =>
  fc.array(
    fc.record<ConsentRecord>({
      purposeKey: fc.oneof(w(1, fc.constant(p.key)), w(1, fc.constantFrom(...PURPOSE_KEYS))),
      regime: fc.constantFrom(...REGIMES),
      sensitive: fc.boolean(),
      action: actionArb,
      purposeVersion: versionArb(p),
      expiresAt: expiryArb,
    }),
    { maxLength: 2 },
  );

/** Every regime; CCPA more (opt-out, right to limit), and the regimes of a purpose's minor rule more still. */
const REGIME_WEIGHT: Record<Regime, number> = { GDPR: 2, CCPA: 3, US_STATE: 2, NONE: 2 };
const regimeArb = (p: PurposeDefinition): fc.Arbitrary<Regime> =>
  fc.oneof(
    ...REGIMES.map((r) => w(REGIME_WEIGHT[r] * ((p.minorsOptIn as readonly Regime[] | undefined)?.includes(r) ? 3 : 1), fc.constant(r))),
  );

/** Under 16 half of the time; two in three where the purpose has a minor rule for the regime. */
const minorArb = (p: PurposeDefinition, regime: Regime): fc.Arbitrary<boolean> =>
  (p.minorsOptIn as readonly Regime[] | undefined)?.includes(regime)
    ? fc.oneof(w(2, fc.constant(true)), w(1, fc.constant(false)))
    : fc.boolean();

/** Undefined: consent could not be loaded. */
const subjectArb = (p: PurposeDefinition): fc.Arbitrary<Subject | undefined> =>
  fc.oneof(
    w(1, fc.constant(undefined)),
    w(
      14,
      regimeArb(p)
        .chain((regime) =>
          fc.tuple(fc.constant(regime), minorArb(p, regime), scopeArb(p, regime, false), scopeArb(p, regime, true), noiseArb(p)),
        )
        .chain(([regime, minor, ordinary, sensitive, noise]) => {
          const all = [...ordinary, ...sensitive, ...noise];
          return fc.shuffledSubarray(all, { minLength: all.length }).map((consents): Subject => ({ regime, minor, consents }));
        }),
    ),
  );

const OTHER_CATEGORIES = DATA_CATEGORIES.filter((c) => c !== 'sensitive');

/**
 * Fields that serve the purpose (3 in 4) or not; special-category data half
 * of the time. At most three purposes per field, which keeps the number of
 * schemas to build (one per `serves` set) under a hundred.
 */
const tagArb = (p: PurposeDefinition): fc.Arbitrary<PurposeTagOptions> => {
  const others = PURPOSE_KEYS.filter((k) => k !== p.key);
  return fc.record<PurposeTagOptions>({
    serves: fc.oneof(
      w(
        3,
        fc.subarray(others, { maxLength: 2 }).map((o) => [p.key as PurposeKey, ...o]),
      ),
      w(1, fc.subarray(others, { minLength: 1, maxLength: 2 })),
    ),
    category: fc.oneof(w(1, fc.constant('sensitive' as const)), w(1, fc.constantFrom(...OTHER_CATEGORIES))),
    mask: fc.constantFrom(...STRING_MASKS),
  });
};

/** Every purpose; those that take consent twice as often as contract ones, ad_sharing (its minor rule) three times. */
const purposeWeight = (p: PurposeDefinition) => (p.minorsOptIn?.length ? 3 : Object.values(p.basis).every((b) => b === 'CONTRACT') ? 1 : 2);
const purposeArb = fc.oneof(...(PURPOSES as readonly PurposeDefinition[]).map((p) => w(purposeWeight(p), fc.constant(p))));

/**
 * Plaintexts that no mask can reproduce: none contains `*` (the mask
 * character) or is a fragment of a mask's fixed text.
 */
const secretArb = fc
  .string({ minLength: 4, maxLength: 24 })
  .filter((s) => s.trim().length >= 4 && !s.includes('*') && !'[REDACTED]'.includes(s) && !`hmac:${KEY_ID}:`.includes(s));

const caseArb = purposeArb.chain((p) => fc.tuple(fc.constant(p), tagArb(p), subjectArb(p), secretArb));

// ---- the property -------------------------------------------------------------

describe('no tagged value leaves the plugin unmasked unless the policy allows it', () => {
  it('DENIED is unreachable with the taxonomy (else add it to REACHABLE)', () => {
    const deny = PURPOSES.flatMap((p) =>
      REGIMES.filter((r) => p.basis[r] === 'DENY' || p.sensitiveBasis[r] === 'DENY').map((r) => `${p.key}/${r}`),
    );
    expect(deny).toEqual([]);
    const reachable = new Set(REACHABLE.map((pair) => pair.split(' ')[1]));
    expect(MASK_REASONS.filter((r) => !reachable.has(r))).toEqual(['DENIED']);
    expect(ALLOW_REASONS.filter((r) => !reachable.has(r))).toEqual([]);
  });

  it('returns the value in clear, its mask, or null exactly as the independent oracle decides', async () => {
    const hits = new Map<string, number>();
    const hit = (key: string) => hits.set(key, (hits.get(key) ?? 0) + 1);

    await fc.assert(
      fc.asyncProperty(caseArb, async ([purpose, fieldTag, person, secret]) => {
        const consent = new RequestConsent(purpose, NOW, true);
        if (person) consent.addSubject('p1', person);
        const mask = fieldTag.mask as MaskSpec;
        const field = fieldName(fieldTag.category, mask);
        const result = await execute({
          schema: schemaFor(fieldTag.serves),
          document: queryFor(field),
          contextValue: { consent, masker, secret },
        });
        expect(result.errors).toBeUndefined();
        const returned = (result.data as { person: Record<string, string | null> }).person[field];

        const expected = oracleDecision(purpose, { serves: fieldTag.serves, category: fieldTag.category }, person, NOW);
        switch (expected.effect) {
          case 'allow':
            expect(returned, 'allowed: the value in clear').toBe(secret);
            expect(consent.maskedFields).toBe(0);
            hit(`allow ${expected.reasons[0]}`);
            break;
          case 'mask':
            expect(returned === null || !returned.includes(secret), `masked, yet the plaintext is in ${returned}`).toBe(true);
            // The field's own mask of the value: a token, a partial value or null.
            expect(returned, "masked: the field's mask of the value").toEqual(masker.apply(mask, secret, purpose.key));
            expect(consent.maskedFields).toBe(1);
            break;
          case 'exclude':
            // No value in any form: not the mask's token, partial value or redaction.
            expect(returned, "excluded: null, not the mask's output").toBeNull();
            expect(consent.maskedFields).toBe(1);
            break;
        }
        if (expected.effect !== 'allow') {
          expect(consent.maskedPaths).toHaveLength(1);
          const { path, reason } = consent.maskedPaths[0]!;
          expect(path).toBe(`person.${field}`);
          expect(expected.reasons, 'the reason the plugin reports').toContain(reason);
          hit(`${expected.effect} ${reason}`);
        }
        hit(expected.effect);
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );

    // The guard: a property over inputs that never reach an outcome proves nothing about it.
    const report = `seed ${SEED}: ${JSON.stringify(Object.fromEntries([...hits].sort()))}`;
    if (process.env.NO_LEAK_REPORT) console.log(report);
    for (const key of [...REACHABLE, 'allow', 'mask', 'exclude']) {
      expect(hits.get(key) ?? 0, `${key} reached too rarely (${report})`).toBeGreaterThanOrEqual(MIN_HITS);
    }
    expect(
      [...hits.keys()].filter((k) => k.includes(' ') && !(REACHABLE as readonly string[]).includes(k)),
      report,
    ).toEqual([]);
  });
});
