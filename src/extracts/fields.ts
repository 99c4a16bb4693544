import { getNamedType, isObjectType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { ConsentQLError } from '../errors.ts';
import { snakeCase, tableName, tableOf } from '../db/names.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { fieldClass, type FieldClass } from '../policy/decide.ts';
import type { PurposeDefinition } from '../policy/types.ts';
import { TAG_EXTENSION, type FieldTag, type SubjectKeyTag, type TypeTag } from '../schema/consent-plugin/types.ts';

// Which fields an extract may carry, and how each is read in SQL. The tags
// come from the schema itself (the consent plugin's field extensions), so an
// extract decides a field exactly as the API decides it; the columns come from
// Prisma's data model (a column is its field's name in snake case, the schema's
// @map convention, and a table its model's; the tests read every extractable
// field from the database). A field is extractable when it exposes one scalar
// column: relations, surrogate ids and the pseudonym field are not (every row
// starts with the subject's pseudonym instead).
//
// An extract has one row per customer, or, with fields of a record type the
// customer lists directly (Order, SupportTicket, MarketingInteraction,
// WebEvent), one row per such record, carrying its customer's fields too.

/** The subject's type: its fields are read from `c`. */
const SUBJECT_TYPE = 'Customer';

/** How a value is written: the GraphQL type the API returns it as. */
export type ValueKind = 'string' | 'float' | 'int' | 'boolean' | 'strings';

/** A record type listed by the customer, read from `r` (one row per record). */
export interface RecordRelation {
  /** The customer's field that lists the records (`Customer.orders`), with its tag: the records are returned only where it is. */
  field: string;
  tag: FieldTag;
  type: string;
  /** The table, quoted. */
  table: string;
}

export interface ExtractField {
  /** As asked for: `Customer.email`, `Order.total`. */
  name: string;
  /** The column of the output: the field's name, prefixed for a record's (`order_total`). */
  column: string;
  /** SQL over the customer `c` (or the record `r`), giving the value the API's resolver gives (before masking). */
  sql: string;
  kind: ValueKind;
  tag: FieldTag;
  /** Set for a field of a record type. */
  relation?: RecordRelation;
}

export interface FieldDecision {
  field: string;
  category: string;
  mask: string;
  /** As the data map says it: CLEAR, CLEAR_WITH_SENSITIVE_CONSENT or MASKED. */
  decision: 'CLEAR' | 'CLEAR_WITH_SENSITIVE_CONSENT' | 'MASKED';
}

interface Candidate {
  field?: ExtractField;
  /** Why the field exists but cannot be extracted. */
  refused?: string;
}

const registries = new WeakMap<GraphQLSchema, Map<string, Candidate>>();

const isPersonalData = (type: unknown): type is GraphQLObjectType =>
  isObjectType(type) && (type.extensions?.[TAG_EXTENSION] as TypeTag | undefined)?.personalData === true;

/** Every field of the customer and of the records it lists, extractable or with the reason it is not. */
function registry(schema: GraphQLSchema): Map<string, Candidate> {
  let found = registries.get(schema);
  if (found) return found;
  found = new Map();
  const customer = schema.getType(SUBJECT_TYPE);
  if (!isPersonalData(customer)) throw new Error(`${SUBJECT_TYPE} is not a personal-data type of the schema: extracts cannot be built.`);
  addFields(found, customer, 'c', undefined);
  for (const field of Object.values(customer.getFields())) {
    const type = getNamedType(field.type);
    const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | SubjectKeyTag | undefined;
    const model = getDatamodel().datamodel.models[SUBJECT_TYPE]?.fields.find((f) => f.name === field.name);
    if (!isPersonalData(type) || typeof tag !== 'object' || model?.kind !== 'object' || !model.isList) continue;
    addFields(found, type, 'r', {
      field: `${SUBJECT_TYPE}.${field.name}`,
      tag,
      type: type.name,
      table: tableOf(type.name),
    });
  }
  registries.set(schema, found);
  return found;
}

function addFields(found: Map<string, Candidate>, type: GraphQLObjectType, alias: string, relation: RecordRelation | undefined) {
  const model = getDatamodel().datamodel.models[type.name];
  for (const field of Object.values(type.getFields())) {
    const name = `${type.name}.${field.name}`;
    const tag = field.extensions?.[TAG_EXTENSION] as FieldTag | SubjectKeyTag | undefined;
    if (tag === 'surrogate-key' || tag === 'pseudonym') {
      found.set(name, {
        refused: 'every row starts with the subject as its pseudonym under the purpose ("subject"); ids are not extracted',
      });
      continue;
    }
    const column = model?.fields.find((f) => f.name === field.name && f.kind === 'scalar');
    if (!tag || !column) {
      found.set(name, { refused: `it is a relation or a computed field, not a column of ${type.name}` });
      continue;
    }
    const db = `${alias}."${snakeCase(column.name)}"`;
    const graphqlType = getNamedType(field.type).name;
    const read = readAs(column.type, graphqlType, column.isList, db);
    if (!read) {
      found.set(name, { refused: `its type (${column.type} as ${graphqlType}) has no extract format yet` });
      continue;
    }
    const output = relation ? `${tableName(type.name)}_${field.name}` : field.name;
    found.set(name, { field: { name, column: output, sql: read.sql, kind: read.kind, tag, ...(relation ? { relation } : {}) } });
  }
}

/** The SQL that renders a column as the API's resolver and scalar would. */
function readAs(prismaType: string, graphqlType: string, list: boolean, db: string): { sql: string; kind: ValueKind } | null {
  if (list) return prismaType === 'String' && graphqlType === 'String' ? { sql: db, kind: 'strings' } : null;
  if (prismaType === 'String' && (graphqlType === 'String' || graphqlType === 'ID')) return { sql: db, kind: 'string' };
  // A DateTime column exposed as a String is a calendar date (YYYY-MM-DD, as Customer.birthDate's resolver writes it).
  if (prismaType === 'DateTime' && graphqlType === 'String') return { sql: `to_char(${db}, 'YYYY-MM-DD')`, kind: 'string' };
  // The DateTime scalar: Date.toISOString() of a timestamp(3) kept in UTC.
  if (prismaType === 'DateTime' && graphqlType === 'DateTime') {
    return { sql: `to_char(${db}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`, kind: 'string' };
  }
  // The Decimal scalar: String(Prisma.Decimal), which drops trailing zeros (129.90 → "129.9").
  if (prismaType === 'Decimal' && graphqlType === 'Decimal') return { sql: `trim_scale(${db})::text`, kind: 'string' };
  if (prismaType === 'Float' && graphqlType === 'Float') return { sql: `${db}::float8`, kind: 'float' };
  if (prismaType === 'Int' && graphqlType === 'Int') return { sql: db, kind: 'int' };
  if (prismaType === 'Boolean' && graphqlType === 'Boolean') return { sql: db, kind: 'boolean' };
  return null;
}

/** The fields an extract may carry, as `Type.field`, in schema order. */
export function extractableFields(schema: GraphQLSchema): string[] {
  return [...registry(schema)].filter(([, c]) => c.field).map(([name]) => name);
}

/**
 * The fields asked for, resolved, or a coded error naming the first problem:
 * none asked for, not a `Type.field` of a personal-data type, or not extractable.
 */
export function resolveFields(schema: GraphQLSchema, requested: unknown): ExtractField[] {
  const valid = extractableFields(schema);
  if (!Array.isArray(requested) || requested.length === 0 || !requested.every((f) => typeof f === 'string')) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `fields expects a non-empty list of tagged fields as "Type.field", such as ["Customer.churnScore"], but got ${truncate(requested)}. ` +
        `Extractable fields: ${valid.join(', ')}.`,
      { argument: 'fields', validFields: valid },
    );
  }
  const seen = new Set<string>();
  const fields: ExtractField[] = [];
  for (const name of requested as string[]) {
    if (seen.has(name)) {
      throw new ConsentQLError('BAD_USER_INPUT', `fields lists ${JSON.stringify(name)} twice. List each field once.`, {
        argument: 'fields',
        received: name,
      });
    }
    seen.add(name);
    const candidate = registry(schema).get(name);
    if (!candidate) {
      throw new ConsentQLError(
        'BAD_USER_INPUT',
        `fields names ${truncate(name)}, which is not a tagged field of ${SUBJECT_TYPE} or of the records it lists. ` +
          `Extractable fields: ${valid.join(', ')}.`,
        { argument: 'fields', received: name.slice(0, 200), validFields: valid },
      );
    }
    if (!candidate.field) {
      throw new ConsentQLError('BAD_USER_INPUT', `fields names ${name}, which cannot be extracted: ${candidate.refused}.`, {
        argument: 'fields',
        received: name,
        validFields: valid,
      });
    }
    fields.push(candidate.field);
  }
  const types = [...new Set(fields.flatMap((f) => (f.relation ? [f.relation.type] : [])))];
  if (types.length > 1) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `fields name records of ${types.join(' and ')}: an extract has one row per customer, or per record of one type it lists. ` +
        'Ask for each type in an extract of its own.',
      { argument: 'fields', received: types },
    );
  }
  return fields;
}

/** The record type the extract has a row for, if its fields name one. */
export const relationOf = (fields: readonly ExtractField[]): RecordRelation | undefined => fields.find((f) => f.relation)?.relation;

/**
 * Records are returned only where the customer's field that lists them serves
 * the purpose (as in the API, where it is otherwise null): for any other
 * purpose, asking for their fields is refused rather than answered with nothing.
 */
export function checkRelation(purpose: PurposeDefinition, fields: readonly ExtractField[]): void {
  const relation = relationOf(fields);
  if (!relation || fieldClass(purpose, relation.tag) === 'ordinary') return;
  throw new ConsentQLError(
    'BAD_USER_INPUT',
    `${relation.field} does not serve the purpose "${purpose.key}" (it serves ${relation.tag.serves.join(', ')}), so its ` +
      `${relation.type} records are not returned for it. Leave out the ${relation.type} fields.`,
    { argument: 'fields', received: relation.type },
  );
}

/** What a purpose gets for each field of a subject it may process (the data map's outcome). */
export function fieldDecision(purpose: PurposeDefinition, field: ExtractField): FieldDecision {
  const cls: FieldClass = fieldClass(purpose, field.tag);
  return {
    field: field.name,
    category: field.tag.category,
    mask: field.tag.mask.strategy,
    decision: cls === 'ordinary' ? 'CLEAR' : cls === 'sensitive' ? 'CLEAR_WITH_SENSITIVE_CONSENT' : 'MASKED',
  };
}

function truncate(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
