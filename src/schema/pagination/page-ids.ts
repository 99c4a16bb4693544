import type { Prisma } from '../../generated/prisma/client.ts';

// The ids of one page of customers, in SQL written here rather than by Prisma.
//
// Why: the purpose's row filter (permitted-where.ts) is one branch per regime, each
// an EXISTS or NOT EXISTS on consent_state, joined by OR. PostgreSQL cannot turn an
// EXISTS under an OR into a join, and it costs the subquery for every row the scan
// might visit, not for the page that LIMIT stops at, so it hashes every consent
// state of the purpose on each request: the cost grows with the data set (tens of
// ms at 100,000 customers), not with the page. Here each branch is its own SELECT
// in which the EXISTS is a top-level condition, so a semi- or anti-join that walks
// the page's order (an index) and probes consent_state by its primary key, and the
// branches, which are disjoint, are merged in that order (UNION ALL, Merge Append):
// the work is proportional to the page. The page itself is then read by Prisma, by
// id, with each row's consent, and every row is checked against the same rule in
// code (src/schema/subjects.ts), so what a client can get is decided as before;
// this only chooses which ids to ask for. test/schema/page-ids.test.ts checks that
// it chooses exactly what the row filter would.
//
// The purpose's row filter is written into the text as literals, the request's
// values are parameters: the statement is prepared (src/db/database.ts), and its
// generic plan must be estimated from the values it always filters by (with a
// parameter for `country = 'US' AND region = 'CA'` the planner guessed 135
// Californians of 20,000 and sorted them all: 195 ms instead of 1 ms).
//
// The compiler below understands exactly the Prisma filters the customer list
// builds (permitted-where.ts, query.ts, keyset.ts) and throws on anything else,
// so a new filter cannot be silently dropped: it has to be taught here first.

type Where = Prisma.CustomerWhereInput;
type OrderBy = Prisma.CustomerOrderByWithRelationInput;

interface Column {
  sql: string;
  cast: string;
}

const CUSTOMER: Record<string, Column> = {
  id: { sql: 'id', cast: 'uuid' },
  country: { sql: 'country', cast: 'text' },
  region: { sql: 'region', cast: 'text' },
  segment: { sql: 'segment', cast: 'text' },
  riskBand: { sql: 'risk_band', cast: 'text' },
  lastName: { sql: 'last_name', cast: 'text' },
  birthDate: { sql: 'birth_date', cast: 'timestamp(3)' },
  createdAt: { sql: 'created_at', cast: 'timestamp(3)' },
  lifetimeValue: { sql: 'lifetime_value', cast: 'numeric' },
  churnScore: { sql: 'churn_score', cast: 'float8' },
};

const CONSENT_STATE: Record<string, Column> = {
  purposeKey: { sql: 'purpose_key', cast: 'text' },
  regime: { sql: 'regime', cast: '"Regime"' },
  sensitive: { sql: 'sensitive', cast: 'boolean' },
  action: { sql: 'action', cast: '"ConsentAction"' },
  purposeVersion: { sql: 'purpose_version', cast: 'int4' },
  expiresAt: { sql: 'expires_at', cast: 'timestamp(3)' },
};

/** A filter, order or selection the SQL compilers here do not know: the caller falls back to Prisma. */
export class Unsupported extends Error {}

/**
 * Bound parameters of one statement: `$n::type` placeholders; or, inside
 * `constants`, the policy's own values (purpose, regimes, countries, actions,
 * never a client's) written into the text as literals, so that a prepared
 * statement's generic plan is estimated from the statistics of the values it
 * will always filter by. Row limits are literals too (`limit`). Times stay
 * parameters (they change with each request), each read through a scalar
 * subquery, which the planner cannot look into even when it knows the
 * value. PostgreSQL plans a prepared statement for its values five times,
 * then keeps its generic plan only if that is estimated to cost less: with
 * a parameter in a LIMIT the generic plan is estimated for a tenth of the
 * table, and with a time it knows, a custom plan is estimated from the time's
 * place in the column's histogram; either way the generic plan never won,
 * and every read was planned again (about as long as it took to run it).
 */
export class Params {
  readonly values: unknown[] = [];
  private inline = false;
  add(value: unknown, cast: string): string {
    const v = value instanceof Date ? value.toISOString() : value;
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new Unsupported(`a filter value of type ${typeof v}`);
    }
    if (value instanceof Date) {
      this.values.push(v);
      // A scalar subquery: the planner estimates it as it would a generic plan's parameter (see above).
      return `(SELECT $${this.values.length}::${cast})`;
    }
    if (this.inline) return `${literal(v)}::${cast}`;
    this.values.push(v);
    return `$${this.values.length}::${cast}`;
  }
  /** A row limit (`LIMIT n`), written as a literal (see above). */
  limit(take: number): string {
    if (!Number.isSafeInteger(take) || take < 0) throw new Unsupported(`the limit ${take}`);
    return String(take);
  }
  /** `compile` with the values it adds written as literals (see above): for the purpose's row filter only. */
  constants<T>(compile: () => T): T {
    this.inline = true;
    try {
      return compile();
    } finally {
      this.inline = false;
    }
  }
}

function literal(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Unsupported(`the number ${v}`);
  return String(v);
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date);

/** A Prisma where, in SQL over `alias` (a customer, or a consent state in a relation filter). */
function compile(where: unknown, alias: string, columns: Record<string, Column>, params: Params, depth = 0): string {
  if (!isObject(where)) throw new Unsupported('a filter that is not an object');
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (key === 'AND') {
      const list = Array.isArray(value) ? value : [value];
      parts.push(list.length ? `(${list.map((w) => compile(w, alias, columns, params, depth)).join(' AND ')})` : 'TRUE');
    } else if (key === 'OR') {
      if (!Array.isArray(value)) throw new Unsupported('OR without a list');
      parts.push(value.length ? `(${value.map((w) => compile(w, alias, columns, params, depth)).join(' OR ')})` : 'FALSE');
    } else if (key === 'NOT') {
      const list = Array.isArray(value) ? value : [value];
      parts.push(list.length ? `(${list.map((w) => `NOT ${compile(w, alias, columns, params, depth)}`).join(' AND ')})` : 'TRUE');
    } else if (key === 'consentStates' && columns === CUSTOMER) {
      parts.push(relation(value, alias, params, depth));
    } else {
      const column = columns[key];
      if (!column) throw new Unsupported(`the field ${key}`);
      parts.push(scalar(`${alias}.${column.sql}`, column.cast, value, params));
    }
  }
  return parts.length === 0 ? 'TRUE' : parts.length === 1 ? parts[0] : `(${parts.join(' AND ')})`;
}

/** `consentStates: { some | none: ... }`: EXISTS / NOT EXISTS on the customer's consent states. */
function relation(filter: unknown, alias: string, params: Params, depth: number): string {
  if (!isObject(filter)) throw new Unsupported('a relation filter that is not an object');
  const cs = `cs${depth}`;
  const parts: string[] = [];
  for (const [op, inner] of Object.entries(filter)) {
    if (inner === undefined) continue;
    if (op !== 'some' && op !== 'none') throw new Unsupported(`consentStates.${op}`);
    const exists = `EXISTS (SELECT 1 FROM consent_state ${cs} WHERE ${cs}.customer_id = ${alias}.id AND ${compile(inner, cs, CONSENT_STATE, params, depth + 1)})`;
    parts.push(op === 'some' ? exists : `NOT ${exists}`);
  }
  return parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`;
}

/** One scalar field's filter, as Prisma writes it (`<>` and `NOT IN` are not NULL-safe there either). */
function scalar(column: string, cast: string, value: unknown, params: Params): string {
  if (value === null) return `${column} IS NULL`;
  if (!isObject(value)) return `${column} = ${params.add(value, cast)}`;
  const parts: string[] = [];
  for (const [op, operand] of Object.entries(value)) {
    if (operand === undefined) continue;
    switch (op) {
      case 'equals':
        parts.push(operand === null ? `${column} IS NULL` : `${column} = ${params.add(operand, cast)}`);
        break;
      case 'not':
        if (operand === null) parts.push(`${column} IS NOT NULL`);
        else if (isObject(operand)) parts.push(`NOT ${scalar(column, cast, operand, params)}`);
        else parts.push(`${column} <> ${params.add(operand, cast)}`);
        break;
      case 'in':
      case 'notIn': {
        if (!Array.isArray(operand)) throw new Unsupported(`${op} without a list`);
        if (operand.length === 0) parts.push(op === 'in' ? 'FALSE' : 'TRUE');
        else parts.push(`${column} ${op === 'in' ? 'IN' : 'NOT IN'} (${operand.map((v) => params.add(v, cast)).join(', ')})`);
        break;
      }
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        parts.push(`${column} ${{ gt: '>', gte: '>=', lt: '<', lte: '<=' }[op]} ${params.add(operand, cast)}`);
        break;
      default:
        throw new Unsupported(`the operator ${op}`);
    }
  }
  return parts.length === 0 ? 'TRUE' : `(${parts.join(' AND ')})`;
}

/** ORDER BY terms of the page, over the columns of `alias` (or unqualified). */
export function orderTerms(orderBy: readonly OrderBy[], alias: string | null): { terms: string[]; columns: string[] } {
  const terms: string[] = [];
  const columns: string[] = [];
  for (const entry of orderBy) {
    const fields = Object.entries(entry);
    if (fields.length !== 1) throw new Unsupported('an orderBy entry with other than one field');
    const [field, spec] = fields[0] as [string, unknown];
    const column = CUSTOMER[field];
    if (!column) throw new Unsupported(`ordering by ${field}`);
    const name = alias ? `${alias}.${column.sql}` : column.sql;
    if (spec === 'asc' || spec === 'desc') terms.push(`${name} ${spec.toUpperCase()}`);
    else if (isObject(spec) && (spec.sort === 'asc' || spec.sort === 'desc') && (spec.nulls === 'first' || spec.nulls === 'last')) {
      terms.push(`${name} ${spec.sort.toUpperCase()} NULLS ${spec.nulls.toUpperCase()}`);
    } else throw new Unsupported(`the order ${JSON.stringify(spec)}`);
    columns.push(column.sql);
  }
  return { terms, columns };
}

export interface PageIdsQuery {
  text: string;
  values: unknown[];
}

/**
 * A page of customers as one SELECT: those that satisfy one of `branches` (disjoint:
 * no customer satisfies two) and `where`, in `orderBy`, at most `take`, each branch a
 * SELECT of its own merged in order (UNION ALL). `columns` is what each branch selects
 * of the customer `c` (its order columns are added); throws Unsupported on a filter
 * this compiler does not know.
 */
export function pageSelect(
  params: Params,
  branches: readonly Where[],
  where: Where,
  orderBy: readonly OrderBy[],
  take: number,
  columns: 'id' | 'row',
): string {
  if (branches.length === 0) throw new Unsupported('a purpose without branches');
  const rest = compile(where, 'c', CUSTOMER, params);
  const limit = params.limit(take);
  const inner = orderTerms(orderBy, 'c');
  const outer = orderTerms(orderBy, null);
  const select = columns === 'row' ? 'c.*' : ['id', ...inner.columns.filter((c) => c !== 'id')].map((c) => `c.${c}`).join(', ');
  const selects = branches.map(
    (branch) =>
      `(SELECT ${select} FROM "customer" c WHERE ${params.constants(() => compile(branch, 'c', CUSTOMER, params))} AND ${rest} ORDER BY ${inner.terms.join(', ')} LIMIT ${limit})`,
  );
  return `SELECT ${columns === 'row' ? 'p.*' : 'p.id'} FROM (${selects.join(' UNION ALL ')}) p ORDER BY ${outer.terms.join(', ')} LIMIT ${limit}`;
}

/**
 * The statement that selects the ids of a page (pageSelect). Null when the filters use
 * something this compiler does not know.
 */
export function pageIdsQuery(branches: readonly Where[], where: Where, orderBy: readonly OrderBy[], take: number): PageIdsQuery | null {
  try {
    const params = new Params();
    return { text: pageSelect(params, branches, where, orderBy, take, 'id'), values: params.values };
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}

/** Customers that satisfy `where`, in `orderBy` and at most `take` when given, as one SELECT of whole rows of `c`. */
export function customerSelect(params: Params, where: Where, orderBy?: readonly OrderBy[], take?: number): string {
  const condition = compile(where, 'c', CUSTOMER, params);
  if (!orderBy) return `SELECT c.* FROM "customer" c WHERE ${condition}`;
  const limit = take === undefined ? '' : ` LIMIT ${params.limit(take)}`;
  return `SELECT c.* FROM "customer" c WHERE ${condition} ORDER BY ${orderTerms(orderBy, 'c').terms.join(', ')}${limit}`;
}

/**
 * `where` as one SQL condition over the customer `alias`, its values appended to
 * `values` (placeholders numbered after those already there). For src/extracts/,
 * which streams the rows of the same filter through a cursor: one compiler, so
 * the extract and the API select the same subjects. Throws on a filter it does not know.
 */
export function customerWhereSql(where: Where, alias: string, values: unknown[]): string {
  const params = new Params();
  params.values.push(...values);
  const sql = compile(where, alias, CUSTOMER, params);
  values.push(...params.values.slice(values.length));
  return sql;
}

/** Whether a filter reads consent_state (a relation filter): only those are worth a statement of their own. */
export function readsConsent(where: unknown): boolean {
  if (Array.isArray(where)) return where.some(readsConsent);
  if (!isObject(where)) return false;
  return Object.entries(where).some(([key, value]) => key === 'consentStates' || readsConsent(value));
}
