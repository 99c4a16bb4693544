import { describe, expect, it } from 'vitest';
import { personalDataRoots } from '../../src/http/purpose-gate.ts';
import { buildSchema } from '../../src/schema/index.ts';

// Which root fields need a declared purpose is derived from the schema: any
// root field whose result can hold a personal-data type. A new root field
// that returns personal data cannot be forgotten in a hand-kept list.

const schema = buildSchema();

describe('root fields that need a purpose', () => {
  it('are every root field that can return a personal-data type, and only those', () => {
    expect([...personalDataRoots(schema, 'query')].sort()).toEqual([
      'accessRecords',
      'consentChanges',
      'consentHistory',
      'consentStatus',
      'customer',
      'customers',
      'subjectAccessRecords',
      'subjectExport',
      'subjectExtracts',
      'suppressionList',
    ]);
    expect([...personalDataRoots(schema, 'mutation')].sort()).toEqual(['grantConsent', 'optIn', 'optOut', 'withdrawConsent']);
    expect([...personalDataRoots(schema, 'subscription')]).toEqual(['consentChanged']);
  });
});
