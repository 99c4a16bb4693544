import {
  getNamedType,
  getNullableType,
  isInterfaceType,
  isLeafType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConsentQLError } from '../errors.ts';
import { operationOf, rootTypeOf } from './operation.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../schema/pagination/page.ts';
import type { Context } from '../schema/context.ts';

// Two bounds on what one client may make one instance do, both checked before
// execution (before authentication for the first, so a refused request reads
// nothing at all):
//
// - a cost limit: the rows a request can produce, estimated from the page
//   sizes it asks for (GraphQL Armor's costLimit weighs fields, not pages:
//   `customers(first: 1000)` and `customers(first: 1)` cost it the same);
// - a per-client rate limit: a token bucket per client id, per instance.

/**
 * Rows counted per parent object for a list without a page argument (an
 * order's items, a ticket's messages: at most 4 and 6 in the demo data; the
 * root lists dataMap, purposes, consentHistory…). An estimate, not a bound:
 * those lists are not paged.
 */
export const UNPAGED_LIST_ROWS = 10;

/**
 * The largest page each paged field serves, where it is not the connections'
 * MAX_PAGE_SIZE (1,000): the record lists of a customer take at most 100.
 * A value above the maximum is counted as the maximum (the resolver refuses or
 * clamps it); a new paged field not listed here is counted up to 1,000.
 */
const PAGE_MAX: Record<string, number> = {
  'Customer.orders': 100,
  'Customer.tickets': 100,
  'Customer.interactions': 100,
  'Customer.webEvents': 100,
};

const PAGE_ARGUMENTS = ['first', 'last'] as const;

export interface CostPath {
  /** The response path (aliases included), e.g. `a1.edges.node.orders`. */
  path: string;
  /** The rows this field can produce, through the pages above it. */
  rows: number;
}

export interface CostEstimate {
  /** The rows the operation can produce, at worst. */
  rows: number;
  /** The fields that produce rows, costliest first. */
  paths: CostPath[];
}

/**
 * The rows an operation can produce at worst: each field that returns objects
 * produces its parents' count times its page size (`first`/`last`, as a
 * literal, a variable's value or the variable's default, else the argument's
 * default, else 20; at most the field's maximum), or times 10 for a list
 * without a page argument; the rows of every such field are summed. A
 * connection's `edges`/`node` (and a page object's list: `changes`,
 * `entries`) are the page itself, counted once at the paged field. Aliases
 * each count; fragments (inline and named) count where they are spread;
 * `@skip`/`@include` are ignored (the worst case); introspection is free.
 */
export function estimateRows(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Readonly<Record<string, unknown>> | null,
): CostEstimate {
  const { operation, fragments } = operationOf(document, operationName);
  const paths: CostPath[] = [];
  if (!operation) return { rows: 0, paths };
  const root = rootTypeOf(schema, operation.operation);
  if (!root) return { rows: 0, paths };

  const variableDefaults = new Map<string, ValueNode>();
  for (const v of operation.variableDefinitions ?? []) {
    if (v.defaultValue) variableDefaults.set(v.variable.name.value, v.defaultValue);
  }
  const intOf = (node: ValueNode | undefined): number | undefined | 'unknown' => {
    if (!node || node.kind === Kind.NULL) return undefined;
    if (node.kind === Kind.INT) return Number.parseInt(node.value, 10);
    if (node.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (variables && Object.hasOwn(variables, name)) {
        const value = variables[name];
        if (value === null || value === undefined) return undefined;
        return typeof value === 'number' && Number.isFinite(value) ? value : 'unknown';
      }
      return intOf(variableDefaults.get(name));
    }
    return 'unknown';
  };

  /** The page size a paged field asks for, or undefined when it has no page argument. */
  const pageSize = (parent: GraphQLNamedType, field: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined => {
    const declared = field.args.filter((a) => (PAGE_ARGUMENTS as readonly string[]).includes(a.name));
    if (declared.length === 0) return undefined;
    const max = PAGE_MAX[`${parent.name}.${field.name}`] ?? MAX_PAGE_SIZE;
    let size: number | undefined;
    for (const arg of declared) {
      const value = intOf(node.arguments?.find((a) => a.name.value === arg.name)?.value);
      // A value that is not a number fails coercion before execution; counted at worst meanwhile.
      const n = value === 'unknown' ? max : value;
      if (n !== undefined) size = Math.max(size ?? 0, n);
    }
    if (size === undefined) {
      const defaults = declared.map((a) => a.defaultValue).filter((d): d is number => typeof d === 'number');
      size = defaults.length > 0 ? Math.max(...defaults) : DEFAULT_PAGE_SIZE;
    }
    // Counted within 1..max: the connection refuses a size outside 0–1,000, the record lists clamp theirs.
    return Math.min(Math.max(Math.trunc(size), 1), max);
  };

  const walk = (
    set: SelectionSetNode,
    type: GraphQLNamedType,
    parents: number,
    atRoot: boolean,
    inPage: boolean,
    prefix: string,
    spreading: Set<string>,
  ): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name.startsWith('__')) continue;
        const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
        if (!field) continue;
        const named = getNamedType(field.type);
        if (isLeafType(named)) continue;
        const list = isListType(getNullableType(field.type));
        const page = pageSize(type, field, sel);
        let factor: number;
        let counted: boolean;
        if (page !== undefined) {
          factor = page;
          counted = true;
        } else if (list) {
          // The list of a page object (a connection's edges, a feed page's changes) is the page itself.
          factor = inPage ? 1 : UNPAGED_LIST_ROWS;
          counted = !inPage;
        } else {
          factor = 1;
          counted = atRoot;
        }
        const rows = parents * factor;
        const path = prefix ? `${prefix}.${sel.alias?.value ?? name}` : (sel.alias?.value ?? name);
        if (counted) {
          total += rows;
          paths.push({ path, rows });
        }
        if (sel.selectionSet) {
          total += walk(sel.selectionSet, named, rows, false, page !== undefined && !list, path, spreading);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const on = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) ?? type) : type;
        total += walk(sel.selectionSet, on, parents, atRoot, inPage, prefix, spreading);
      } else {
        const fragment = fragments.get(sel.name.value);
        // A cycle is invalid GraphQL (refused by validation); never followed here.
        if (!fragment || spreading.has(fragment.name.value)) continue;
        const on = schema.getType(fragment.typeCondition.name.value) ?? type;
        spreading.add(fragment.name.value);
        total += walk(fragment.selectionSet, on, parents, atRoot, inPage, prefix, spreading);
        spreading.delete(fragment.name.value);
      }
    }
    return total;
  };

  const rows = walk(operation.selectionSet, root, 1, true, false, '', new Set());
  paths.sort((a, b) => b.rows - a.rows);
  return { rows, paths };
}

const format = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Refuses, before execution and before the client is authenticated (so that no
 * SQL runs at all), an operation that could produce more than `maxRows` rows.
 */
export function useCostLimit(options: { maxRows: number }): Plugin<Context> {
  const check = (
    args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: unknown },
    stop: (result: { errors: ConsentQLError[] }) => void,
  ) => {
    const estimate = estimateRows(
      args.schema,
      args.document,
      args.operationName,
      (args.variableValues ?? null) as Record<string, unknown> | null,
    );
    if (estimate.rows <= options.maxRows) return;
    const costliest = estimate.paths.slice(0, 3);
    stop({
      errors: [
        new ConsentQLError(
          'QUERY_TOO_COSTLY',
          `This request can return up to ${format(estimate.rows)} rows, above the limit of ${format(options.maxRows)} per request ` +
            `(page sizes multiplied through nesting and summed over aliases; costliest: ` +
            `${costliest.map((p) => `${p.path} ${format(p.rows)}`).join(', ')}). ` +
            'Ask for smaller pages (first/last), fewer nested lists or aliases, and page through the rest with the cursors.',
          { estimatedRows: estimate.rows, maxRows: options.maxRows, costliest },
        ),
      ],
    });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}

export interface RateLimitOptions {
  /** Tokens added per second: the sustained rate of requests per client. */
  perSecond: number;
  /** Bucket size: requests a client may send at once after being idle. */
  burst: number;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

/**
 * A token bucket per client id, in this instance's memory (with several
 * instances a client gets the rate of each). Placed after the purpose gate,
 * which authenticates: a request that reads nothing personal and names no
 * client (introspection, `purposes`) is not counted, and a request refused
 * by the gate costs no token. The refusal is 429 RATE_LIMITED with a
 * Retry-After header (whole seconds until a token is back).
 */
export function useRateLimit(options: RateLimitOptions): Plugin<Context> {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (clientId: string): number => {
    const t = now();
    const bucket = buckets.get(clientId) ?? { tokens: options.burst, at: t };
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((t - bucket.at) / 1000) * options.perSecond);
    bucket.at = t;
    buckets.set(clientId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
  };
  const check = (contextValue: unknown, stop: (result: { errors: ConsentQLError[] }) => void) => {
    const client = (contextValue as Context).client;
    if (!client) return;
    const retryAfter = take(client.id);
    if (retryAfter === 0) return;
    stop({
      errors: [
        new ConsentQLError(
          'RATE_LIMITED',
          `Client "${client.name}" sent more than ${options.burst} requests at once or more than ${options.perSecond} per second over time. ` +
            `Retry after ${retryAfter} s (the Retry-After header), and spread requests out or fetch larger pages.`,
          { retryAfterSeconds: retryAfter },
          { 'Retry-After': String(retryAfter) },
        ),
      ],
    });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args.contextValue, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args.contextValue, setResultAndStopExecution),
  };
}
