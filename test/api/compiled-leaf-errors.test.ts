import {
  execute,
  GraphQLError,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  parse,
} from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { describe, expect, it } from 'vitest';

// Queries run compiled by graphql-jit (src/http/compiled-execution.ts), patched so that a
// scalar's error locations and path are built only when there is an error
// (patches/graphql-jit+0.8.9.patch). Its errors must stay those graphql-js reports:
// the same message, locations and path, for a forbidden null, a resolved Error and a
// serializer that refuses its value, at the top level and in nested lists.

const Refusing = new GraphQLScalarType({
  name: 'Refusing',
  serialize: (value) => {
    if (value === 'bad') throw new GraphQLError('Refusing refuses "bad".');
    return value;
  },
});

const Item = new GraphQLObjectType({
  name: 'Item',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLInt) },
    required: { type: new GraphQLNonNull(GraphQLString) },
    failing: { type: GraphQLString },
    refused: { type: Refusing },
  },
});

const Group = new GraphQLObjectType({
  name: 'Group',
  fields: { items: { type: new GraphQLList(Item) } },
});

const row = (id: number) => ({
  id,
  required: id === 2 ? null : `r${id}`,
  failing: id === 3 ? new Error(`item ${id} failed`) : `f${id}`,
  refused: id === 4 ? 'bad' : `ok${id}`,
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      items: { type: new GraphQLList(Item), resolve: () => [1, 2, 3, 4].map(row) },
      groups: { type: new GraphQLList(Group), resolve: () => [{ items: [1, 2].map(row) }, { items: [3, 4].map(row) }] },
      top: { type: GraphQLString, resolve: () => new Error('top failed') },
      topRequired: { type: new GraphQLNonNull(GraphQLString), resolve: () => null },
    },
  }),
});

const normalised = (result: { data?: unknown; errors?: readonly GraphQLError[] }) => ({
  data: JSON.parse(JSON.stringify(result.data ?? null)),
  errors: (result.errors ?? [])
    .map((e) => ({ message: e.message, path: e.path, locations: e.locations }))
    .sort((a, b) => JSON.stringify(a.path).localeCompare(JSON.stringify(b.path))),
});

describe('compiled queries report leaf errors as graphql-js does', () => {
  for (const query of [
    '{ items { id required failing refused } }',
    '{ groups { items { id failing refused } } }',
    '{ groups { items { id required } } }',
    '{ top }',
    '{ top topRequired }',
  ]) {
    it(query, async () => {
      const document = parse(query);
      const compiled = compileQuery(schema, document);
      if (!isCompiledQuery(compiled)) throw new Error('not compiled');
      const expected = normalised(await execute({ schema, document }));
      expect(expected.errors.length).toBeGreaterThan(0);
      expect(normalised(await compiled.query(undefined, undefined, {}))).toEqual(expected);
    });
  }
});
