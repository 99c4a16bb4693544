import { describe, expect, it } from 'vitest';
import { isObjectType } from 'graphql';
import { describeTag } from '../../src/schema/consent-plugin/describe.ts';
import { TAG_EXTENSION, type FieldTag } from '../../src/schema/consent-plugin/index.ts';
import { buildSchema } from '../../src/schema/index.ts';

// Each tagged field's description ends with its tag in plain words, so that
// GraphiQL's documentation explorer shows it.

const email: FieldTag = {
  serves: ['transactional', 'support', 'marketing'],
  category: 'contact',
  mask: { strategy: 'hmac' },
  sensitive: false,
};

describe('describeTag', () => {
  it('writes the purposes, category and mask as the last line', () => {
    expect(describeTag(undefined, email)).toBe(
      'Purposes: transactional, support, marketing · category: contact · otherwise: hmac (keyed token)',
    );
    expect(describeTag('Id of the person in the source CRM.', email)).toBe(
      'Id of the person in the source CRM.\n\nPurposes: transactional, support, marketing · category: contact · otherwise: hmac (keyed token)',
    );
  });

  it('names each mask', () => {
    const line = (mask: FieldTag['mask']) => describeTag(null, { ...email, mask }).split(' · otherwise: ')[1];
    expect(line({ strategy: 'null' })).toBe('null');
    expect(line({ strategy: 'redact' })).toBe('redact ([REDACTED])');
    expect(line({ strategy: 'partial', kind: 'phone' })).toBe('partial (last four digits)');
    expect(line({ strategy: 'partial', kind: 'email' })).toBe('partial (first character and domain)');
    expect(line({ strategy: 'generalize', kind: 'year' })).toBe('generalize (year)');
    expect(line({ strategy: 'generalize', kind: 'prefix', length: 3 })).toBe('generalize (first 3 characters)');
  });

  it('describes subject keys', () => {
    expect(describeTag(undefined, 'surrogate-key')).toBe('Surrogate key: returned with its row.');
    expect(describeTag('', 'pseudonym')).toBe('Your pseudonym for this subject under the declared purpose.');
  });

  it('is idempotent', () => {
    const once = describeTag('About.', email);
    expect(describeTag(once, email)).toBe(once);
  });
});

describe('the built schema', () => {
  const schema = buildSchema();

  it('ends every tagged field description with its tag line, once', () => {
    const customer = schema.getType('Customer');
    if (!isObjectType(customer)) throw new Error('no Customer type');
    const fields = customer.getFields();
    expect(fields.email.description).toBe(
      'Purposes: transactional, support, marketing · category: contact · otherwise: hmac (keyed token)',
    );
    expect(fields.id.description).toBe('Surrogate key: returned with its row.');
    expect(fields.birthDate.description).toBe(
      'ISO date (YYYY-MM-DD); generalised to the year when masked.\n\n' +
        'Purposes: transactional, marketing, personalization, ai_training · category: demographic · otherwise: generalize (year)',
    );
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || !type.extensions?.[TAG_EXTENSION]) continue;
      for (const field of Object.values(type.getFields())) {
        const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | 'surrogate-key' | 'pseudonym';
        const lines = (field.description ?? '').split('\n');
        expect(lines.at(-1)).toBe(describeTag(undefined, tag));
        expect((field.description ?? '').split(describeTag(undefined, tag)).length).toBe(2);
      }
    }
  });

  it('does not grow when the schema is built again', () => {
    const again = buildSchema();
    const a = schema.getType('Customer');
    const b = again.getType('Customer');
    if (!isObjectType(a) || !isObjectType(b)) throw new Error('no Customer type');
    expect(b.getFields().email.description).toBe(a.getFields().email.description);
  });
});
