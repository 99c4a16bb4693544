import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import ConsentPlugin from './consent-plugin/index.ts';
import type { Context } from './context.ts';
import { isoTime } from './iso-time.ts';
import { ConsentQLError } from '../errors.ts';

// The consent plugin is listed first so that it wraps outermost: a masked
// field never reaches the resolvers of the other plugins.
export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: Context;
  DefaultFieldNullability: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    Decimal: { Input: string; Output: { toString(): string } | string | number };
  };
}>({
  plugins: [ConsentPlugin, PrismaPlugin, RelayPlugin],
  prisma: {
    client: (ctx) => ctx.db.prisma,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    maxConnectionSize: 1000,
    defaultConnectionSize: 20,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
});

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date and time in UTC.',
  serialize: (value) => (value instanceof Date ? isoTime(value) : String(value)),
  parseValue: (value) => {
    const date = new Date(String(value));
    if (Number.isNaN(date.getTime())) {
      // A coded GraphQLError: Yoga would mask a plain TypeError as "Unexpected error.".
      throw new ConsentQLError(
        'BAD_USER_INPUT',
        `DateTime expects an ISO-8601 string such as 2026-01-31T12:00:00Z, but got: ${JSON.stringify(value)}.`,
      );
    }
    return date;
  },
});

builder.scalarType('Decimal', {
  description: 'An exact decimal number, as a string (e.g. "129.90").',
  serialize: (value) => String(value),
  parseValue: (value) => String(value),
});
