import {
  GraphQLDirective,
  GraphQLEnumType,
  specifiedDirectives,
  GraphQLList,
  GraphQLNonNull,
  GraphQLBoolean,
  GraphQLString,
  DirectiveLocation,
  lexicographicSortSchema,
  type GraphQLSchema,
} from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { PURPOSE_KEYS } from '../policy/taxonomy.ts';
import { DATA_CATEGORIES } from '../policy/types.ts';
import { builder } from './builder.ts';
import './types/customer.ts';
import './types/records.ts';
import './query.ts';
import './data-map.ts';
import './consent-api/index.ts';
import './client-fields.ts';

const enumOf = (name: string, values: readonly string[], description: string) =>
  new GraphQLEnumType({ name, description, values: Object.fromEntries(values.map((v) => [v, { value: v }])) });

/** `@purpose` on every field of a personal-data type, so client developers see the tags. */
const purposeDirective = new GraphQLDirective({
  name: 'purpose',
  description: 'The purposes a field serves, its data category and its mask (see README, "Tagging fields").',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    serves: { type: new GraphQLList(new GraphQLNonNull(enumOf('PurposeKey', PURPOSE_KEYS, 'A purpose of the taxonomy.'))) },
    category: { type: enumOf('DataCategory', DATA_CATEGORIES, 'What kind of personal data a field holds.') },
    mask: { type: GraphQLString, description: 'null, hmac, partial, generalize or redact.' },
    surrogateKey: { type: GraphQLBoolean, description: 'A generated id: returned wherever its row is.' },
    pseudonym: { type: GraphQLBoolean, description: "The subject's pseudonym under the declared purpose." },
  },
});

export function buildSchema(options: { benchmarkBaseline?: boolean } = {}): GraphQLSchema {
  return builder.toSchema({
    // `directives` replaces graphql-js's defaults: keep @skip, @include,
    // @deprecated, @specifiedBy and @oneOf next to ours.
    directives: [...specifiedDirectives, purposeDirective],
    consentEnforcement: options.benchmarkBaseline ? 'off-for-benchmark-baseline' : 'on',
  });
}

/** The schema as printed to schema.graphql, with the purpose directives. */
export function printSchema(schema: GraphQLSchema): string {
  return `${printSchemaWithDirectives(lexicographicSortSchema(schema))}\n`;
}
