import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, keyOf, type TestApp } from '../support/app.ts';
import { PURPOSE_KEYS } from '../../src/policy/taxonomy.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const LIST = `{ customers(first: 3) { edges { node { email } } } }`;

/** No customer data is read when a request is refused before execution. */
async function refusedWithoutReading(run: () => Promise<{ status: number; body: any }>) {
  app.resetQueries();
  const result = await run();
  expect(app.queries.filter((q) => /"customer"/.test(q))).toEqual([]);
  expect(Object.values(result.body.data ?? {}).every((value) => value === null)).toBe(true);
  return result;
}

describe('requests without a valid client or purpose are refused with a code, before any data is read', () => {
  it('UNAUTHENTICATED without credentials', async () => {
    const { status, body } = await refusedWithoutReading(() => app.graphql(LIST, { purpose: 'support' }));
    expect(status).toBe(401);
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0].message).toMatch(/Authorization: Bearer/);
  });

  it('UNAUTHENTICATED with an unknown key', async () => {
    const { status, body } = await refusedWithoutReading(() =>
      app.graphql(LIST, { purpose: 'support', headers: { authorization: 'Bearer not-a-real-key' } }),
    );
    expect(status).toBe(401);
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('PURPOSE_REQUIRED without X-Purpose, listing the valid purposes', async () => {
    const { status, body } = await refusedWithoutReading(() => app.graphql(LIST, { client: 'support-chatbot' }));
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('PURPOSE_REQUIRED');
    expect(body.errors[0].message).toContain('X-Purpose header is required');
    expect(body.errors[0].extensions.validPurposes).toEqual(PURPOSE_KEYS);
  });

  it('UNKNOWN_PURPOSE for a purpose outside the taxonomy, listing the valid keys', async () => {
    const { status, body } = await refusedWithoutReading(() => app.graphql(LIST, { client: 'support-chatbot', purpose: 'markting' }));
    expect(status).toBe(400);
    expect(body.errors[0].extensions).toMatchObject({ code: 'UNKNOWN_PURPOSE', received: 'markting' });
    expect(body.errors[0].message).toContain(PURPOSE_KEYS.join(', '));
  });

  it('PURPOSE_NOT_ALLOWED for a purpose the client is not registered for', async () => {
    const { status, body } = await refusedWithoutReading(() => app.graphql(LIST, { client: 'support-chatbot', purpose: 'marketing' }));
    expect(status).toBe(403);
    expect(body.errors[0].extensions).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED', allowedPurposes: ['support'] });
  });

  it('EXPLAIN_NOT_ALLOWED when a client without the permission asks for reasons', async () => {
    const { status, body } = await refusedWithoutReading(() =>
      app.graphql(LIST, { client: 'support-chatbot', purpose: 'support', headers: { 'x-consent-explain': '1' } }),
    );
    expect(status).toBe(403);
    expect(body.errors[0].extensions.code).toBe('EXPLAIN_NOT_ALLOWED');
  });

  it('FORBIDDEN for an admin field without the admin role', async () => {
    // The data map used to be the example here; any authenticated client may now read it (test/schema/data-map.test.ts).
    const { body } = await app.graphql(`{ webhookSubscriptions { id } }`, { client: 'support-chatbot' });
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(body.data).toEqual({ webhookSubscriptions: null });
  });

  it('FILTER_NOT_ALLOWED when filtering by a field the purpose may not read', async () => {
    const { status, body } = await refusedWithoutReading(() =>
      app.graphql(`{ customers(first: 3, filter: { segment: "vip" }) { totalCount } }`, {
        client: 'support-chatbot',
        purpose: 'support',
      }),
    );
    expect(body.errors[0].extensions).toMatchObject({ code: 'FILTER_NOT_ALLOWED', field: 'segment', purpose: 'support' });
    expect(status).toBe(400);
  });
});

describe('what needs no purpose', () => {
  it('answers introspection and the taxonomy without credentials or purpose', async () => {
    const { status, body } = await app.graphql(`{ __schema { queryType { name } } purposes { key version } }`);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.purposes.map((p: any) => p.key)).toEqual(PURPOSE_KEYS);
  });

  it('serves the data map to a schema owner', async () => {
    const { body } = await app.graphql(`{ dataMap { type field serves category mask surrogateKey } }`, {
      client: 'schema-admin',
    });
    expect(body.errors).toBeUndefined();
    expect(body.data.dataMap).toContainEqual({
      type: 'Customer',
      field: 'email',
      serves: ['transactional', 'support', 'marketing'],
      category: 'contact',
      mask: 'hmac',
      surrogateKey: false,
    });
  });
});

describe('GraphQL over HTTP', () => {
  it('answers malformed JSON with a 400 and no stack trace', async () => {
    const res = await app.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf('support-chatbot')}` },
      body: '{"query": ',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(JSON.parse(text).errors[0].message).toEqual(expect.any(String));
  });

  it('answers an invalid query with a validation error', async () => {
    const { status, body } = await app.graphql(`{ customers(first: 1) { nope } }`, { client: 'support-chatbot', purpose: 'support' });
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('answers unknown routes with 404 and a coded error', async () => {
    const res = await app.fetch('/nowhere');
    expect(res.status).toBe(404);
    expect((await res.json()).errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('reports database health on /health', async () => {
    const res = await app.fetch('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', database: 'up' });
  });
});

describe('bounds on a request', () => {
  it('accepts the deepest meaningful selection', async () => {
    const deep = `{ customers(first: 1) { edges { node { tickets { messages { body } } orders { items { sku } } } } } }`;
    expect((await app.graphql(deep, { client: 'support-chatbot', purpose: 'support' })).body.errors).toBeUndefined();
  });

  it('rejects a query that repeats fields through many aliases, before execution', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: customers(first: 1000) { totalCount }`).join(' ');
    const { status, body } = await refusedWithoutReading(() =>
      app.graphql(`{ ${aliases} }`, { client: 'support-chatbot', purpose: 'support' }),
    );
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('QUERY_TOO_LARGE');
    expect(body.errors[0].message).toBe('Aliases limit of 15 exceeded, found 20. Split the request into smaller ones.');
  });
});
