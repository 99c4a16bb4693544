import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const PAGE = /* GraphQL */ `
  query Page($first: Int!) {
    customers(first: $first) {
      totalCount
      edges {
        node {
          id email country segment
          orders(first: 5) { number total items { sku quantity } }
          tickets(first: 2) { subject messages { body } }
          interactions(first: 5) { campaign kind }
        }
      }
    }
  }
`;

async function statementsFor(first: number): Promise<string[]> {
  app.resetQueries();
  const { body } = await app.graphql(PAGE, { client: 'schema-admin', purpose: 'support', variables: { first } });
  expect(body.errors).toBeUndefined();
  expect(body.data.customers.edges).toHaveLength(first);
  // Every statement sent on the pool but two that are not the request's own: the access record,
  // written after the response in batches, and the client's key, which the server caches and reads again now and then.
  return app.queries.filter((sql) => !sql.includes('INSERT INTO access_record') && !sql.includes('key_hash'));
}

describe('database round trips per request', () => {
  it('do not grow with the page size (10 vs 500 customers with nested records)', async () => {
    await statementsFor(1); // the client's key is looked up once, then cached
    const small = await statementsFor(10);
    const large = await statementsFor(500);
    expect(large.length).toBe(small.length);
    // One statement for the page with its nested records and consent, one for the count.
    expect(small.map((sql) => sql.slice(0, 24))).toEqual(['SELECT p.id AS "id", p.e', 'SELECT COUNT(*) AS "_cou']);
  });
});

describe('the page statement', () => {
  it('is prepared on PostgreSQL (parsed once per connection, planned once when its generic plan is as cheap) and sent unnamed to PGlite, one session behind all its connections', async () => {
    for (let i = 0; i < 12; i++) await statementsFor(10);
    // Prepared statements belong to a connection: ask every connection of the pool at once.
    const clients = await Promise.all(Array.from({ length: app.db.pool.totalCount }, () => app.db.pool.connect()));
    const prepared: { name: string; statement: string; runs: number }[] = [];
    try {
      for (const client of clients) {
        const { rows } = await client.query<{ name: string; statement: string; runs: number }>(
          `SELECT name, statement, generic_plans + custom_plans AS runs FROM pg_prepared_statements WHERE name LIKE 'consentql\\_%'`,
        );
        prepared.push(...rows);
      }
    } finally {
      for (const client of clients) client.release();
    }
    const { rows } = await app.db.pool.query<{ version: string }>('SELECT version()');
    if (rows[0].version.includes('PGlite')) {
      expect(prepared).toEqual([]);
      return;
    }
    // The page of 10 (its limit, 11 with the look-ahead row, is part of the text; so are the nested lists' limits).
    const page = prepared.filter((p) => p.statement.startsWith('SELECT p.id AS "id"') && / LIMIT 11\)? p ORDER BY/.test(p.statement));
    expect(page.length).toBeGreaterThan(0);
    // One text, one name, on every connection that prepared it.
    expect(new Set(page.map((p) => p.name)).size).toBe(1);
    expect(page.reduce((sum, p) => sum + Number(p.runs), 0)).toBeGreaterThanOrEqual(12);
  });
});
