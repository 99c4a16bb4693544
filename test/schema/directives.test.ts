import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specifiedDirectives } from 'graphql';
import { buildSchema } from '../../src/schema/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

// `builder.toSchema({ directives })` replaces graphql-js's specified
// directives: the schema must list them next to `@purpose`.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const asSupport = { client: 'support-chatbot', purpose: 'support' } as const;

describe('the executable directives', () => {
  it('the schema has every directive graphql-js specifies, and @purpose', () => {
    const names = buildSchema()
      .getDirectives()
      .map((d) => d.name);
    for (const directive of specifiedDirectives) expect(names).toContain(directive.name);
    expect(names).toEqual(expect.arrayContaining(['skip', 'include', 'deprecated', 'specifiedBy', 'purpose']));
  });

  it('@include and @skip return or leave out fields over HTTP', async () => {
    const query = `query Page($withEmail: Boolean!) {
      customers(first: 2) { edges { node { id email @include(if: $withEmail) firstName @skip(if: true) } } }
    }`;
    const included = await app.graphql(query, { ...asSupport, variables: { withEmail: true } });
    expect(included.status).toBe(200);
    expect(included.body.errors).toBeUndefined();
    const withEmail = included.body.data.customers.edges.map((e: any) => e.node);
    expect(withEmail).toHaveLength(2);
    for (const node of withEmail) {
      expect(Object.keys(node).sort()).toEqual(['email', 'id']);
      expect(node.email).toMatch(/@/);
    }

    const left = await app.graphql(query, { ...asSupport, variables: { withEmail: false } });
    expect(left.status).toBe(200);
    expect(left.body.errors).toBeUndefined();
    for (const { node } of left.body.data.customers.edges) expect(Object.keys(node)).toEqual(['id']);
  });

  it('@skip(if: false) and @include on fragments keep the fields', async () => {
    const { status, body } = await app.graphql(
      `{ customers(first: 1) { edges { node { id firstName @skip(if: false) ... @include(if: true) { email } } } } }`,
      asSupport,
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(Object.keys(body.data.customers.edges[0].node).sort()).toEqual(['email', 'firstName', 'id']);
  });

  it('introspection lists @skip, @include and @deprecated without credentials', async () => {
    const { status, body } = await app.graphql(`{ __schema { directives { name } } }`);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.__schema.directives.map((d: any) => d.name)).toEqual(
      expect.arrayContaining(['skip', 'include', 'deprecated', 'specifiedBy', 'purpose']),
    );
  });
});
