import SchemaBuilder from '@pothos/core';
import { execute, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import ConsentPlugin, { RequestConsent } from '../../src/schema/consent-plugin/index.ts';
import { createMasker, parseHmacKeys } from '../../src/masking/index.ts';
import { findPurpose } from '../../src/policy/taxonomy.ts';

interface Person {
  id: string;
  email: string;
}

// A minimal personal-data schema with only the consent plugin, executed
// directly: what the plugin does when consent is missing or unknown.
const builder = new SchemaBuilder<{ Context: { consent: RequestConsent | null; masker: unknown } }>({
  plugins: [ConsentPlugin],
} as never);
const PersonRef = builder.objectRef<Person>('Person').implement({
  personalData: { subject: (p) => p.id },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    email: t.exposeString('email', { purpose: { serves: ['support', 'marketing'], category: 'contact', mask: 'hmac' } }),
  }),
});
builder.queryType({
  fields: (t) => ({ person: t.field({ type: PersonRef, resolve: () => ({ id: 'p1', email: 'jane@example.com' }) }) }),
});
const schema = builder.toSchema();
const masker = createMasker(parseHmacKeys(undefined, { production: false }));
const run = (consent: RequestConsent | null) =>
  execute({ schema, document: parse('{ person { id email } }'), contextValue: { consent, masker } }) as Promise<any>;

describe('the consent plugin fails closed', () => {
  it('withholds a subject whose consent was not loaded: no id, no token, and says why', async () => {
    const consent = new RequestConsent(findPurpose('support')!, new Date(), true);
    const result = await run(consent);
    expect(result.data.person).toBeNull();
    expect(result.errors.map((e: any) => e.extensions.code)).toEqual(['CONSENT_UNAVAILABLE']);
    expect(JSON.stringify(result.data)).not.toContain('hmac:');
  });

  it('returns nothing of a subject when no purpose was declared', async () => {
    const result = await run(null);
    expect(result.data.person).toBeNull();
    expect(result.errors.map((e: any) => e.extensions.code)).toEqual(['PURPOSE_REQUIRED']);
  });

  it('returns the value once the subject is known and the purpose allows it', async () => {
    const consent = new RequestConsent(findPurpose('support')!, new Date(), true);
    consent.addSubject('p1', { regime: 'GDPR', minor: false, consents: [] });
    const result = await run(consent);
    expect(result.data.person.email).toBe('jane@example.com');
    expect(consent.summary()).toMatchObject({ subjects: 1, maskedFields: 0 });
  });
});
