import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLIENTS } from '../../src/db/demo-clients.ts';
import { PURPOSE_KEYS } from '../../src/policy/taxonomy.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

// The data map: any authenticated client reads it, for the purposes it may
// see (every purpose for schema owners and admins, its own for a consumer).

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const DATA_MAP = `{ dataMap { type field surrogateKey pseudonym serves category mask decisions { purpose outcome } } }`;

interface Entry {
  type: string;
  field: string;
  surrogateKey: boolean;
  pseudonym: boolean;
  serves: string[];
  category: string | null;
  mask: string | null;
  decisions: { purpose: string; outcome: string }[];
}

async function dataMapOf(client: string): Promise<Entry[]> {
  const { status, body } = await app.graphql(DATA_MAP, { client });
  expect(body.errors).toBeUndefined();
  expect(status).toBe(200);
  return body.data.dataMap;
}

const entry = (entries: Entry[], type: string, field: string) => {
  const found = entries.find((e) => e.type === type && e.field === field);
  if (!found) throw new Error(`${type}.${field} is not in the data map`);
  return found;
};

describe('dataMap for a consumer: its own purposes only', () => {
  let entries: Entry[];
  beforeAll(async () => {
    // No X-Purpose: the data map reads no personal data.
    entries = await dataMapOf('email-platform-sync');
  });

  it('gives every entry exactly one decision, for marketing', () => {
    expect(entries.length).toBeGreaterThan(20);
    for (const e of entries) expect(e.decisions.map((d) => d.purpose)).toEqual(['marketing']);
  });

  it('keeps the tag fields and classifies each field the way the policy does', () => {
    expect(entry(entries, 'Customer', 'email')).toEqual({
      type: 'Customer',
      field: 'email',
      surrogateKey: false,
      pseudonym: false,
      serves: ['transactional', 'support', 'marketing'],
      category: 'contact',
      mask: 'hmac',
      decisions: [{ purpose: 'marketing', outcome: 'CLEAR' }],
    });
    const outcome = (field: string) => entry(entries, 'Customer', field).decisions[0].outcome;
    // Tags in src/schema/types/customer.ts.
    expect(outcome('churnScore')).toBe('CLEAR'); // inferred, serves marketing
    expect(outcome('healthInterests')).toBe('CLEAR_WITH_SENSITIVE_CONSENT'); // sensitive, serves marketing
    expect(outcome('street')).toBe('MASKED'); // contract purposes only
    expect(outcome('webEvents')).toBe('MASKED'); // not marketing
    expect(outcome('preciseLocation')).toBe('MASKED'); // sensitive, but does not serve marketing
    expect(entry(entries, 'Customer', 'id')).toMatchObject({
      surrogateKey: true,
      pseudonym: false,
      serves: [],
      category: null,
      mask: null,
      decisions: [{ purpose: 'marketing', outcome: 'SUBJECT_KEY' }],
    });
  });

  it('gives subject keys (surrogate keys and pseudonyms) no tag and SUBJECT_KEY, and nothing else SUBJECT_KEY', () => {
    for (const e of entries) {
      const subjectKey = e.surrogateKey || e.pseudonym;
      expect(e.surrogateKey && e.pseudonym).toBe(false);
      if (subjectKey) {
        expect(e).toMatchObject({ serves: [], category: null, mask: null });
        expect(e.decisions.every((d) => d.outcome === 'SUBJECT_KEY')).toBe(true);
      } else {
        expect(e.decisions.some((d) => d.outcome === 'SUBJECT_KEY')).toBe(false);
        const served = e.serves.includes('marketing');
        const expected = !served ? 'MASKED' : e.category === 'sensitive' ? 'CLEAR_WITH_SENSITIVE_CONSENT' : 'CLEAR';
        expect({ field: `${e.type}.${e.field}`, outcome: e.decisions[0].outcome }).toEqual({
          field: `${e.type}.${e.field}`,
          outcome: expected,
        });
      }
    }
  });

  it('shows another consumer only its purpose', async () => {
    const support = await dataMapOf('support-chatbot');
    for (const e of support) expect(e.decisions.map((d) => d.purpose)).toEqual(['support']);
    expect(entry(support, 'Customer', 'healthInterests').decisions).toEqual([
      { purpose: 'support', outcome: 'CLEAR_WITH_SENSITIVE_CONSENT' },
    ]);
    expect(entry(support, 'Customer', 'churnScore').decisions).toEqual([{ purpose: 'support', outcome: 'MASKED' }]);
  });

  it('confines a non-consumer role to its registered purposes too', async () => {
    const registered = DEMO_CLIENTS.find((c) => c.name === 'consent-center')!.allowedPurposes;
    const recorder = await dataMapOf('consent-center');
    expect(recorder.length).toBe(entries.length);
    for (const e of recorder) expect(e.decisions.map((d) => d.purpose)).toEqual(registered);
  });
});

describe('dataMap for schema owners and admins: every purpose', () => {
  it('lists a decision per purpose of the taxonomy, in its order', async () => {
    const entries = await dataMapOf('schema-admin');
    for (const e of entries) expect(e.decisions.map((d) => d.purpose)).toEqual(PURPOSE_KEYS);
    const email = entry(entries, 'Customer', 'email');
    expect(Object.fromEntries(email.decisions.map((d) => [d.purpose, d.outcome]))).toMatchObject({
      transactional: 'CLEAR',
      support: 'CLEAR',
      marketing: 'CLEAR',
      analytics: 'MASKED',
      ai_training: 'MASKED',
    });
  });
});

describe('dataMap access', () => {
  it('refuses a request without a key: UNAUTHENTICATED', async () => {
    const { status, body } = await app.graphql(`{ dataMap { type field } }`);
    expect(status).toBe(401);
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown key: UNAUTHENTICATED', async () => {
    const { status, body } = await app.graphql(`{ dataMap { type field } }`, {
      headers: { authorization: 'Bearer not-a-real-key' },
    });
    expect(status).toBe(401);
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('says in its description that subjects without a legal basis are not returned at all', async () => {
    const { body } = await app.graphql(`{ __type(name: "Query") { fields { name description } } }`);
    const dataMap = body.data.__type.fields.find((f: any) => f.name === 'dataMap');
    expect(dataMap.description).toContain(
      'Subjects who give the declared purpose no legal basis (no consent where opt-in applies, withdrawn, opted out, ' +
        'expired, outdated purpose version, a minor without the required opt-in) are not returned at all, for any field.',
    );
  });
});
