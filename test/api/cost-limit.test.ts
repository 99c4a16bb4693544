import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kind, parse, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { createTestApp, keyOf, type TestApp } from '../support/app.ts';
import { estimateRows } from '../../src/http/cost-limit.ts';
import { buildSchema } from '../../src/schema/index.ts';
import { loadConfig } from '../../src/config.ts';

// Finding 4 of issue 9: one request of 15 aliases of customers(first: 1000)
// with four relations of 100 each took 15.4 s and 16 MB and starved every
// other request. The cost limit counts the rows a request can produce from
// its page sizes and refuses it before any SQL; the rate limit bounds each
// client's requests.

const root = path.resolve(import.meta.dirname, '../..');
const schema = buildSchema();
const rows = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  estimateRows(schema, parse(query), operationName, variables).rows;

const RELATIONS_100 = 'orders(first: 100) { id } tickets(first: 100) { id } interactions(first: 100) { id } webEvents(first: 100) { id }';
const ATTACK = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: customers(first: 1000) { edges { node { id ${RELATIONS_100} } } }`).join(' ')} }`;
const BUDGET = loadConfig({ NODE_ENV: 'test' }).limits.maxRows;

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

describe('the row estimate', () => {
  it('multiplies page sizes through nesting and sums them', () => {
    // 1,000 customers, then 100 records of each of four lists per customer.
    expect(rows(`{ customers(first: 1000) { edges { node { id ${RELATIONS_100} } } } }`)).toBe(1000 + 4 * 1000 * 100);
    expect(rows(ATTACK)).toBe(15 * (1000 + 4 * 1000 * 100));
    // Defaults: 20 customers, 20 records per list; a list without a page argument counts 10 per parent.
    expect(rows('{ customers { edges { node { orders { id items { sku } } } } } }')).toBe(20 + 20 * 20 + 20 * 20 * 10);
    // last counts like first; above the maximum counts as the maximum (the resolver refuses or clamps it).
    expect(rows('{ customers(last: 300) { totalCount } }')).toBe(300);
    expect(rows('{ customers(first: 5000) { edges { node { orders(first: 900) { id } } } } }')).toBe(1000 + 1000 * 100);
    // A lookup is one row; introspection and leaves are free.
    expect(rows('query($id: ID!) { customer(id: $id) { id email } }')).toBe(1);
    expect(rows('{ __schema { types { name fields { name } } } }')).toBe(0);
    // Page objects: the feed page and the suppression list count their page once.
    expect(rows('{ consentChanges { changes { cursor } } suppressionList(purpose: "marketing") { entries { subject } } }')).toBe(100 + 500);
    expect(rows('{ webhookDeliveries(first: 7) { id } }')).toBe(7);
  });

  it('takes page sizes from variables, their defaults and the argument defaults', () => {
    const query = 'query Page($n: Int, $m: Int = 50) { customers(first: $n) { edges { node { orders(first: $m) { id } } } } }';
    expect(rows(query, { n: 100, m: 10 })).toBe(100 + 100 * 10);
    expect(rows(query, { n: 1000 })).toBe(1000 + 1000 * 50);
    expect(rows(query, {})).toBe(20 + 20 * 50);
    expect(rows(query, { n: null, m: null })).toBe(20 + 20 * 20);
    // A value that is not a number (refused by coercion later) counts as the maximum meanwhile.
    expect(rows(query, { n: '1000', m: 'x' })).toBe(1000 + 1000 * 100);
  });

  it('counts every alias, named and inline fragments where they are spread, and both sides of @skip/@include', () => {
    const fragment = `fragment Lists on Customer { orders(first: 100) { id } ... on Customer { tickets(first: 50) { id } } }`;
    const once = rows(`{ customers(first: 10) { edges { node { ...Lists } } } } ${fragment}`);
    expect(once).toBe(10 + 10 * 100 + 10 * 50);
    expect(
      rows(
        `{ a: customers(first: 10) { edges { node { ...Lists } } } b: customers(first: 10) { edges { node { ...Lists ...Lists } } } } ${fragment}`,
      ),
    ).toBe(once + (10 + 2 * (10 * 100 + 10 * 50)));
    expect(
      rows(
        'query($no: Boolean!) { customers(first: 10) { edges { node { orders(first: 100) @skip(if: $no) { id } webEvents(first: 100) @include(if: $no) { id } } } } }',
        { no: true },
      ),
    ).toBe(10 + 10 * 100 + 10 * 100);
    // Only the operation that runs counts.
    const two = 'query Small { customers(first: 1) { totalCount } } query Big { customers(first: 1000) { totalCount } }';
    expect(rows(two, {}, 'Small')).toBe(1);
    expect(rows(two, {}, 'Big')).toBe(1000);
  });

  it('keeps the ordinary requests well under the budget', () => {
    // The demo support view (GraphiQL's example query), a 1,000-customer training page, a 100-customer page with two lists at their maximum.
    expect(
      rows(
        '{ customers(first: 5) { totalCount edges { node { id firstName email country tickets(first: 2) { subject messages { author body } } } } } }',
      ),
    ).toBe(5 + 10 + 100);
    expect(rows('{ customers(first: 1000) { totalCount edges { node { id birthDate churnScore segment country } } } }')).toBe(1000);
    expect(
      rows('{ customers(first: 100) { edges { node { id orders(first: 100) { id total } tickets(first: 100) { id status } } } } }'),
    ).toBe(20_100);
    expect(20_100).toBeLessThanOrEqual(BUDGET);
    // test/api/round-trips.test.ts: 500 customers with five nested lists (one at a time, never refused).
    const roundTrips = `query Page($first: Int!) { customers(first: $first) { totalCount edges { node { id email country segment
      orders(first: 5) { number total items { sku quantity } } tickets(first: 2) { subject messages { body } } interactions(first: 5) { campaign kind } } } } }`;
    expect(rows(roundTrips, { first: 500 })).toBe(500 + 2500 + 2500 * 10 + 1000 + 1000 * 10 + 2500);
    expect(41_500).toBeLessThanOrEqual(BUDGET);
    // The 15-alias request, and even one alias of it.
    expect(rows(ATTACK)).toBeGreaterThan(100 * BUDGET);
    expect(rows(`{ customers(first: 1000) { edges { node { id ${RELATIONS_100} } } } }`)).toBeGreaterThan(BUDGET);
  });
});

describe('the cost limit over HTTP', () => {
  it('refuses the 15-alias request with QUERY_TOO_COSTLY, before any SQL', async () => {
    app.resetQueries();
    const { status, body } = await app.graphql(ATTACK, { client: 'analytics-app', purpose: 'analytics' });
    expect(app.queries.length).toBe(0);
    expect(status).toBe(400);
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', estimatedRows: 6_015_000, maxRows: BUDGET });
    expect(body.errors[0].message).toMatch(/up to 6,015,000 rows, above the limit of [\d,]+ per request/);
    expect(body.errors[0].message).toContain('a0.edges.node.orders 100,000');
  });

  it('refuses it whoever asks: without a key too, with nothing read', async () => {
    app.resetQueries();
    const { status, body } = await app.graphql(ATTACK);
    expect(app.queries.length).toBe(0);
    expect(status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('QUERY_TOO_COSTLY');
  });

  it('honours variables: the same document passes or is refused by the page size it is sent with', async () => {
    const query =
      'query Pages($n: Int!, $m: Int!) { customers(first: $n) { edges { node { id orders(first: $m) { id } webEvents(first: $m) { id } } } } }';
    const small = await app.graphql(query, { client: 'analytics-app', purpose: 'analytics', variables: { n: 50, m: 5 } });
    expect(small.status).toBe(200);
    expect(small.body.errors).toBeUndefined();
    expect(small.body.data.customers.edges.length).toBeGreaterThan(0);

    app.resetQueries();
    const large = await app.graphql(query, { client: 'analytics-app', purpose: 'analytics', variables: { n: 1000, m: 100 } });
    expect(app.queries.length).toBe(0);
    expect(large.status).toBe(400);
    expect(large.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', estimatedRows: 1000 + 2 * 1000 * 100 });
  });

  it('counts fragments and aliases: a small-looking selection is refused for what its fragments ask', async () => {
    const query = `
      query Spread { first: customers(first: 200) { edges { node { ...Lists } } } second: customers(first: 100) { edges { node { id } } } }
      fragment Lists on Customer { orders(first: 100) { id } interactions(first: 100) { id } ... on Customer { webEvents(first: 100) { id } } }`;
    app.resetQueries();
    const { status, body } = await app.graphql(query, { client: 'analytics-app', purpose: 'analytics' });
    expect(app.queries.length).toBe(0);
    expect(status).toBe(400);
    expect(body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY', estimatedRows: 200 + 3 * 200 * 100 + 100 });
  });

  it('leaves a page size above the maximum to the resolver (BAD_USER_INPUT, as before)', async () => {
    const { body } = await app.graphql('{ customers(first: 5000) { totalCount } }', { client: 'analytics-app', purpose: 'analytics' });
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('serves the ordinary operations of test/operations/*.graphql', async () => {
    const { body: one } = await app.graphql('{ customers(first: 1) { edges { node { id } } } }', {
      client: 'support-chatbot',
      purpose: 'support',
    });
    const id = one.data.customers.edges[0].node.id;
    const dir = path.join(root, 'test/operations');
    const operations = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.graphql'))
      .flatMap((f) => operationsOf(parse(fs.readFileSync(path.join(dir, f), 'utf8'))));
    expect(operations.length).toBeGreaterThanOrEqual(4);
    for (const { name, document } of operations) {
      // Every variable filled in at its worst: the largest page, a real id.
      const variables = { id, first: 1000 };
      const { status, body } = await app.graphql(print(document), { client: 'support-chatbot', purpose: 'support', variables });
      expect({ name, status, errors: body.errors }).toEqual({ name, status: 200, errors: undefined });
    }
  });

  it("serves the README's example queries and keeps its mutations and subscription under the budget", async () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(6);
    for (const { query: example, purpose } of examples) {
      expect({ example: example.slice(0, 80), rows: rows(example) <= BUDGET }).toEqual({ example: example.slice(0, 80), rows: true });
      const document = parse(example);
      const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
      if (operation.operation !== 'query') continue; // writes and subscriptions: estimated only
      const { status, body } = await app.graphql(example, { client: 'schema-admin', purpose });
      expect({ example: example.slice(0, 80), status, errors: body.errors }).toEqual({
        example: example.slice(0, 80),
        status: 200,
        errors: undefined,
      });
    }
  });
});

describe('the rate limit', () => {
  let limited: TestApp;
  beforeAll(async () => {
    // Two requests at once, then one every 100 s.
    limited = await createTestApp({ env: { CONSENTQL_RATE_LIMIT: '0.01', CONSENTQL_RATE_LIMIT_BURST: '2' } });
  });
  afterAll(() => limited?.close());

  const LIST = '{ customers(first: 1) { edges { node { id } } } }';
  const post = (client: string, purpose: string) =>
    limited.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(client)}`, 'x-purpose': purpose },
      body: JSON.stringify({ query: LIST }),
    });

  it('is off by default under NODE_ENV=test, and on (50/s, burst 100) elsewhere unless set', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).limits.rateLimit).toBeNull();
    expect(loadConfig({}).limits.rateLimit).toEqual({ perSecond: 50, burst: 100 });
    expect(loadConfig({ CONSENTQL_RATE_LIMIT: '5', CONSENTQL_RATE_LIMIT_BURST: '7' }).limits.rateLimit).toEqual({ perSecond: 5, burst: 7 });
    expect(loadConfig({ CONSENTQL_RATE_LIMIT: 'off' }).limits.rateLimit).toBeNull();
    expect(() => loadConfig({ CONSENTQL_RATE_LIMIT: 'fast' })).toThrow(/CONSENTQL_RATE_LIMIT: must be requests per second/);
    expect(loadConfig({ CONSENTQL_MAX_ROWS: '500' }).limits.maxRows).toBe(500);
  });

  it('answers 429 RATE_LIMITED with Retry-After once a client has spent its bucket, before reading data', async () => {
    for (let i = 0; i < 2; i++) expect((await post('analytics-app', 'analytics')).status).toBe(200);
    limited.resetQueries();
    const response = await post('analytics-app', 'analytics');
    const body = (await response.json()) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(response.status).toBe(429);
    expect(body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(90);
    expect(retryAfter).toBeLessThanOrEqual(100);
    expect(body.errors[0].extensions.retryAfterSeconds).toBe(retryAfter);
    expect(body.errors[0].message).toContain('analytics-app');
    expect(limited.queries.filter((q) => /"customer"/.test(q))).toEqual([]);
  });

  it('keeps one bucket per client: another client is still served', async () => {
    expect((await post('support-chatbot', 'support')).status).toBe(200);
  });
});

/** The operations of a document, each with the fragments it needs. */
function operationsOf(document: DocumentNode): { name: string; document: DocumentNode }[] {
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  return document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((op) => ({ name: op.name?.value ?? '(anonymous)', document: { kind: Kind.DOCUMENT, definitions: [op, ...fragments] } }));
}

/** The GraphQL of the README: its ```graphql blocks and the queries of its curl examples. */
/** The README's GraphQL examples, each with the purpose it declares (`# X-Purpose: …` or `-H 'x-purpose: …'`), else marketing. */
function readmeExamples(): { query: string; purpose: string }[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const declared = (text: string) => /x-purpose: ([a-z_]+)/i.exec(text)?.[1] ?? 'marketing';
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => ({ query: m[1], purpose: declared(m[1]) }));
  const curls = [...readme.matchAll(/^curl [^\n]*(?:\\\n[^\n]*)*?-d '(\{"query":[\s\S]*?\})'/gm)].map((m) => ({
    query: (JSON.parse(m[1]) as { query: string }).query,
    purpose: declared(m[0]),
  }));
  return [...blocks, ...curls];
}
