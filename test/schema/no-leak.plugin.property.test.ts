import SchemaBuilder from '@pothos/core';
import fc from 'fast-check';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import ConsentPlugin, { RequestConsent, type PurposeTagOptions } from '../../src/schema/consent-plugin/index.ts';
import { createMasker, parseHmacKeys, type MaskSpec } from '../../src/masking/index.ts';
import {
  DATA_CATEGORIES,
  PURPOSES,
  PURPOSE_KEYS,
  REGIMES,
  decide,
  type ConsentRecord,
  type PurposeKey,
  type Subject,
} from '../../src/policy/index.ts';

// The no-leak invariant end to end through the Pothos plugin: for random
// field tags, purposes and consent histories, a tagged value comes back in
// clear exactly when the policy allows it, and a mask never contains it.

const NOW = new Date('2026-06-01T12:00:00Z');
const masker = createMasker(parseHmacKeys(undefined, { production: false }));
const QUERY = parse('{ person { secret } }');

const STRING_MASKS: MaskSpec[] = [
  { strategy: 'null' },
  { strategy: 'redact' },
  { strategy: 'hmac' },
  { strategy: 'partial', kind: 'text' },
  { strategy: 'generalize', kind: 'prefix' },
];

/** A schema with one personal-data type whose one field carries `tag`. */
function schemaWith(tag: PurposeTagOptions, secret: string) {
  const builder = new SchemaBuilder<{ Context: object }>({ plugins: [ConsentPlugin] } as never);
  const Person = builder.objectRef<{ id: string; secret: string }>('Person').implement({
    personalData: { subject: (p) => p.id },
    fields: (t) => ({ secret: t.exposeString('secret', { purpose: tag }) }),
  });
  builder.queryType({ fields: (t) => ({ person: t.field({ type: Person, resolve: () => ({ id: 'p1', secret }) }) }) });
  return builder.toSchema();
}

const record = fc.record<ConsentRecord>({
  purposeKey: fc.constantFrom(...PURPOSE_KEYS),
  regime: fc.constantFrom(...REGIMES),
  sensitive: fc.boolean(),
  action: fc.constantFrom('GRANT', 'WITHDRAW', 'OPT_OUT', 'OPT_IN'),
  purposeVersion: fc.integer({ min: 0, max: 2 }),
  expiresAt: fc.option(fc.integer({ min: -30, max: 30 }).map((days) => new Date(NOW.getTime() + days * 86_400_000)), { nil: null }),
});

const subject = fc.option(
  fc.record<Subject>({
    regime: fc.constantFrom(...REGIMES),
    minor: fc.boolean(),
    consents: fc.array(record, { maxLength: 6 }),
  }),
  { nil: undefined },
);

const tag = fc.record<PurposeTagOptions>({
  serves: fc.subarray([...PURPOSE_KEYS] as PurposeKey[], { minLength: 1 }),
  category: fc.constantFrom(...DATA_CATEGORIES),
  mask: fc.constantFrom(...STRING_MASKS),
});

describe('no tagged value leaves the plugin unmasked unless the policy allows it', () => {
  it('returns the value in clear exactly when decide() allows it', async () => {
    await fc.assert(
      fc.asyncProperty(
        tag,
        fc.constantFrom(...PURPOSES),
        subject,
        fc.string({ minLength: 4, maxLength: 24 }).filter((s) => !s.includes('*') && s.trim().length >= 4),
        async (fieldTag, purpose, person, secret) => {
          const consent = new RequestConsent(purpose, NOW, false);
          if (person) consent.addSubject('p1', person);
          const result = (await execute({
            schema: schemaWith(fieldTag, secret),
            document: QUERY,
            contextValue: { consent, masker },
          })) as { data: { person: { secret: string | null } } };
          const returned = result.data.person.secret;
          const allowed = decide(purpose, { serves: fieldTag.serves, category: fieldTag.category }, person, NOW).effect === 'allow';
          if (allowed) {
            expect(returned).toBe(secret);
          } else {
            expect(returned === null || !returned.includes(secret)).toBe(true);
            expect(consent.maskedFields).toBe(1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
