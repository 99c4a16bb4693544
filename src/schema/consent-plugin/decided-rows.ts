import {
  getNamedType,
  isObjectType,
  type FieldNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import { getDirectiveValues, GraphQLIncludeDirective, GraphQLSkipDirective, responsePathAsArray } from 'graphql';
import type { Masker } from '../../masking/index.ts';
import { decideNotice } from '../../policy/index.ts';
import { ConsentQLError } from '../../errors.ts';
import type { RequestConsent } from './request-consent.ts';
import type { FieldTag, PersonalDataOptions } from './types.ts';

// A row of a personal-data type reaches GraphQL only as a decided row: an
// object holding, for each field the request selected that is read straight
// off the row (an exposed column), the value the policy allows for this
// subject and purpose (in clear, masked or null), and the row itself behind a
// symbol for the fields that have resolvers of their own. The consent plugin
// makes every field that returns a personal-data type return decided rows,
// and the type's `isTypeOf` refuses anything else, so a row that reached a
// personal-data type by a path the plugin did not wrap is an error, never data.
//
// Why not one decision per field resolver call: the compiled executor reads a
// field without a resolver in place, and calls a resolver with a resolve-info
// object, a path and the arguments for every field of every row; deciding the
// row's exposed fields at once costs a fraction of that.

const ROW = Symbol('consentql.row');
/** Where a plan's template (never served) holds its row: replaced in each copy. */
const EMPTY_ROW = Object.freeze({});

/** A decided row: the decided values by field name, and the row they were decided from. */
export interface DecidedRow {
  [ROW]: object;
  [field: string]: unknown;
}

export const isDecided = (value: unknown): value is DecidedRow => typeof value === 'object' && value !== null && ROW in value;

/** The row a decided row was made from, for the fields with resolvers of their own (and their subject). */
export function rowOf(value: unknown): object {
  if (isDecided(value)) return value[ROW];
  // Unreachable while `isTypeOf` guards the personal-data types; refused rather than read.
  throw new ConsentQLError('CONSENT_UNAVAILABLE', 'A record was reached without a consent decision, so it is withheld. Report it.');
}

/** A field decided with its row: an exposed column of a personal-data type. */
export interface RowField {
  /** The row's property it exposes. */
  column: string;
  /** 'surrogate-key', or the field's tag and its number (see `fieldNumber`). */
  tag: FieldTag | 'surrogate-key';
  number: number;
}

/** What the plugin knows of a personal-data type: its options and the fields decided with the row. */
export interface PersonalType {
  options: PersonalDataOptions<object>;
  fields: Map<string, RowField>;
}

/** One selected field decided with the row: by response key (an alias gets its own path in explanations). */
interface Planned {
  key: string;
  name: string;
  field: RowField;
}

/** The fields decided with each row under one field, and the decided row they make before any is decided. */
interface Plan {
  fields: Planned[];
  /** Every planned field null: each row's decided row starts as a copy (one allocation of the final shape). */
  template: DecidedRow;
}

/**
 * The row fields selected under `info`'s field on `type`, with fragments
 * spread and `@skip`/`@include` applied as GraphQL applies them.
 */
function plan(info: GraphQLResolveInfo, type: GraphQLObjectType, personal: PersonalType): Plan {
  const planned: Planned[] = [];
  const seen = new Set<string>();
  const visit = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (!included(selection, info)) continue;
      if (selection.kind === 'Field') {
        const key = selection.alias?.value ?? selection.name.value;
        const field = personal.fields.get(selection.name.value);
        if (field && !seen.has(key)) {
          seen.add(key);
          planned.push({ key, name: selection.name.value, field });
        }
      } else if (selection.kind === 'InlineFragment') {
        if (!selection.typeCondition || selection.typeCondition.name.value === type.name) visit(selection.selectionSet);
      } else {
        const fragment = info.fragments[selection.name.value];
        if (fragment && fragment.typeCondition.name.value === type.name) visit(fragment.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  const template: DecidedRow = { [ROW]: EMPTY_ROW };
  for (const { name } of planned) template[name] = null;
  return { fields: planned, template };
}

function included(node: { directives?: readonly unknown[] }, info: GraphQLResolveInfo): boolean {
  if (!node.directives?.length) return true;
  const skip = getDirectiveValues(GraphQLSkipDirective, node as FieldNode, info.variableValues);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, info.variableValues);
  return include?.if !== false;
}

/** What the decided rows of one request need. */
export interface DecideContext {
  consent: RequestConsent | null;
  masker: Masker;
}

/**
 * Turns what a field returned (a row, a list of rows, lists of lists, null)
 * into decided rows of `type`. `info` is the field's: its selection is what
 * is decided, its path is where masked fields are said to be.
 */
export function decideRows(value: unknown, info: GraphQLResolveInfo, personal: PersonalType, context: DecideContext): unknown {
  const type = getNamedType(info.returnType);
  if (!isObjectType(type)) return null;
  const planned = context.consent?.planFor(info.fieldNodes, () => plan(info, type, personal)) ?? plan(info, type, personal);
  const decide = (item: unknown, path: () => string): unknown => {
    if (item === null || item === undefined) return item;
    if (Array.isArray(item)) return item.map((each, i) => decide(each, () => `${path()}.${i}`));
    return decideRow(item as Record<string, unknown>, planned, personal.options, context, path);
  };
  return decide(value, () => responsePathAsArray(info.path).join('.'));
}

function decideRow(
  row: Record<string, unknown>,
  { fields, template }: Plan,
  options: PersonalDataOptions<object>,
  { consent, masker }: DecideContext,
  path: () => string,
): DecidedRow {
  const decided: DecidedRow = { ...template };
  decided[ROW] = row;
  const subjectId = options.subject(row);
  const notice = options.notice ?? false;
  for (const { key, name, field } of fields) {
    const value = row[field.column];
    if (field.tag === 'surrogate-key') {
      // Names the subject: only where the subject may be processed at all (a notice of an erased subject has none).
      if (subjectId !== null) requireSubject(consent, subjectId, notice);
      decided[name] = subjectId === null ? null : value;
      continue;
    }
    if (!consent) {
      // No declared purpose means no decision: never open.
      decided[name] = null;
      continue;
    }
    const tag = field.tag;
    const decision =
      subjectId === null
        ? // A notice of an erased subject: decided by the tag alone, with no subject to record; never on other types.
          notice
          ? decideNotice(consent.purpose, tag)
          : null
        : notice
          ? consent.noticeDecision(subjectId, tag, field.number)
          : consent.decision(subjectId, tag, field.number);
    if (decision?.effect === 'allow') {
      decided[name] = value;
    } else if (decision === null || subjectId === null) {
      decided[name] = null;
    } else {
      consent.recordMaskAt(path, decision, key);
      // A subject without a legal basis gets no value in any form: no token, no partial value.
      decided[name] =
        decision.effect === 'exclude' || tag.mask.strategy === 'null' ? null : masker.apply(tag.mask, value, consent.purpose.key);
    }
  }
  return decided;
}

/**
 * The request's consent, when the subject of a row may be named: a row of a
 * subject without a legal basis should never have been loaded (the loaders
 * filter in SQL and again in code), so reaching one is refused, not returned.
 */
export function requireSubject(consent: RequestConsent | null, subjectId: string, notice: boolean): RequestConsent {
  if (!consent) {
    throw new ConsentQLError('PURPOSE_REQUIRED', 'A declared purpose (X-Purpose header) is required to read personal data.');
  }
  if (notice) consent.reference(subjectId);
  else if (!consent.permits(subjectId)) {
    throw new ConsentQLError(
      'CONSENT_UNAVAILABLE',
      'A record was reached without a consent decision for the declared purpose, so it is withheld. Retry; if it persists, report it.',
    );
  }
  return consent;
}
