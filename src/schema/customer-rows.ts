import { snakeCase, tableOf } from '../db/names.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { customerSelect, pageSelect, Params, orderTerms, Unsupported } from './pagination/page-ids.ts';

// Customers, with the relations a request selects, read by one SQL statement
// written here and mapped once, instead of by Prisma.
//
// Why: on a page of customers Prisma's client costs more than the rest of the
// request's own work (interpreting its query plan, mapping every value into
// objects, Decimal instances), and reading the page took two statements (the
// page's ids, then the rows by id). Here the page's row filter, its rows, each
// row's consent and the nested lists the selection asks for are one statement:
// the lists as JSON built by PostgreSQL (correlated subqueries, each with its
// own order and limit), the values already in the form the resolvers use.
//
// It understands the selections the Pothos Prisma plugin plans for the
// customer types (`include`/`select` of scalars, and of list relations with
// `take`, `orderBy` and an equality `where`) and the filters page-ids.ts
// compiles; anything else throws Unsupported, and the caller reads with
// Prisma instead, with the same rows and values. test/schema/customer-rows.test.ts
// compares the two for every selection and filter the API builds.
//
// Values as Prisma gives them, but for Decimal, which is a string here (what
// the Decimal scalar returns: String(Prisma.Decimal), trailing zeros dropped).

type Where = Prisma.CustomerWhereInput;
type OrderBy = Prisma.CustomerOrderByWithRelationInput;
type Query = { include?: object; select?: object };

interface ModelField {
  name: string;
  kind: string;
  type: string;
  isList: boolean;
  isId?: boolean;
  relationName?: string;
  relationFromFields?: string[];
}

const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: ModelField[] }>;

/** How the rows of one model are turned into what the resolvers read: dates, and the lists below. */
interface Shape {
  dates: string[];
  lists: { name: string; shape: Shape }[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A scalar field's value in SQL, as the row will carry it. */
function scalarSql(field: ModelField, column: string): string {
  if (field.isList) {
    if (field.type !== 'String') throw new Unsupported(`a list of ${field.type}`);
    // Prisma reads a NULL list as an empty one.
    return `coalesce(${column}, '{}')`;
  }
  switch (field.type) {
    case 'String':
    case 'Int':
    case 'Boolean':
      return column;
    case 'Float':
      return `${column}::float8`;
    case 'Decimal':
      return `trim_scale(${column})::text`;
    case 'DateTime':
      // Epoch milliseconds: timestamp(3) columns hold UTC, as Prisma reads them.
      return `(extract(epoch from ${column}) * 1000)::float8`;
    default:
      if (field.kind === 'enum') return `${column}::text`;
      throw new Unsupported(`a field of type ${field.type}`);
  }
}

/** The fields a Prisma `include` (every scalar, plus the relations named) or `select` (those named) reads. */
function selected(model: string, query: Query): { scalars: ModelField[]; relations: [ModelField, unknown][] } {
  const fields = models[model]?.fields;
  if (!fields) throw new Unsupported(`the model ${model}`);
  if (query.include !== undefined && query.select !== undefined) throw new Unsupported('both include and select');
  const chosen = (query.select ?? query.include ?? {}) as Record<string, unknown>;
  const scalars = query.select ? [] : fields.filter((f) => f.kind !== 'object');
  const relations: [ModelField, unknown][] = [];
  for (const [name, value] of Object.entries(chosen)) {
    if (value === undefined || value === false) continue;
    const field = fields.find((f) => f.name === name);
    if (!field) throw new Unsupported(`${model}.${name}`);
    if (field.kind === 'object') relations.push([field, value]);
    else if (query.select && value === true) scalars.push(field);
    else if (!query.select) throw new Unsupported(`include of the scalar ${model}.${name}`);
    else throw new Unsupported(`${model}.${name}: ${JSON.stringify(value)}`);
  }
  return { scalars, relations };
}

/** The child's foreign key to the parent, for a list relation (`Customer.orders` → `order.customer_id`). */
function foreignKey(parent: string, field: ModelField): { childKey: string; parentKey: string } {
  const back = models[field.type]?.fields.find((f) => f.relationName === field.relationName && f.type === parent);
  const from = back?.relationFromFields ?? [];
  const id = models[parent].fields.find((f) => f.isId);
  if (!field.isList || from.length !== 1 || !id) throw new Unsupported(`the relation ${parent}.${field.name}`);
  return { childKey: snakeCase(from[0]), parentKey: snakeCase(id.name) };
}

/** A relation's ORDER BY terms over `alias` (`{ placedAt: 'desc' }` or a list of such). */
function relationOrder(model: string, orderBy: unknown, alias: string): string[] {
  if (orderBy === undefined) return [];
  const entries = Array.isArray(orderBy) ? orderBy : [orderBy];
  return entries.map((entry) => {
    const pairs = isObject(entry) ? Object.entries(entry) : [];
    const [name, direction] = pairs[0] ?? [];
    const field = models[model].fields.find((f) => f.name === name && f.kind !== 'object');
    if (pairs.length !== 1 || !field || (direction !== 'asc' && direction !== 'desc')) {
      throw new Unsupported(`the order ${JSON.stringify(entry)} of ${model}`);
    }
    return `${alias}.${snakeCase(field.name)} ${direction.toUpperCase()}`;
  });
}

/** A relation's `where`: equality on its own text or enum fields only. */
function relationWhere(model: string, where: unknown, alias: string, params: Params): string[] {
  if (where === undefined) return [];
  if (!isObject(where)) throw new Unsupported(`the filter of ${model}`);
  return Object.entries(where).map(([name, value]) => {
    const field = models[model].fields.find((f) => f.name === name && !f.isList && (f.type === 'String' || f.kind === 'enum'));
    if (!field || typeof value !== 'string') throw new Unsupported(`the filter ${name} of ${model}`);
    return `${alias}.${snakeCase(name)}${field.kind === 'enum' ? '::text' : ''} = ${params.add(value, 'text')}`;
  });
}

/** The columns of `model` at `alias` for `query`, as [name, SQL] pairs, and the shape of the row they make. */
function projection(
  model: string,
  query: Query,
  alias: string,
  params: Params,
  depth: number,
): { columns: [string, string][]; shape: Shape } {
  const { scalars, relations } = selected(model, query);
  const columns: [string, string][] = [];
  const shape: Shape = { dates: [], lists: [] };
  for (const field of scalars) {
    columns.push([field.name, scalarSql(field, `${alias}.${snakeCase(field.name)}`)]);
    if (field.type === 'DateTime') shape.dates.push(field.name);
  }
  for (const [field, value] of relations) {
    const args = (value === true ? {} : value) as Record<string, unknown>;
    if (!isObject(args)) throw new Unsupported(`${model}.${field.name}: ${JSON.stringify(value)}`);
    for (const key of Object.keys(args)) {
      if (!['take', 'orderBy', 'where', 'select', 'include'].includes(key)) throw new Unsupported(`${model}.${field.name}.${key}`);
    }
    const { childKey, parentKey } = foreignKey(model, field);
    const child = `r${depth}`;
    const nested = projection(field.type, args as Query, child, params, depth + 1);
    const order = relationOrder(field.type, args.orderBy, child);
    const conditions = [`${child}.${childKey} = ${alias}.${parentKey}`, ...relationWhere(field.type, args.where, child, params)];
    const take = args.take;
    if (take !== undefined && typeof take !== 'number') throw new Unsupported(`take ${take}`);
    const rows =
      `SELECT * FROM ${tableOf(field.type)} ${child} WHERE ${conditions.join(' AND ')}` +
      (order.length ? ` ORDER BY ${order.join(', ')}` : '') +
      (take !== undefined ? ` LIMIT ${params.limit(take)}` : '');
    const object = `json_build_object(${nested.columns.map(([name, sql]) => `'${name}', ${sql}`).join(', ')})`;
    const aggregate = `json_agg(${object}${order.length ? ` ORDER BY ${order.join(', ')}` : ''})`;
    columns.push([field.name, `(SELECT coalesce(${aggregate}, '[]'::json) FROM (${rows}) ${child})`]);
    shape.lists.push({ name: field.name, shape: nested.shape });
  }
  return { columns, shape };
}

/** Turns what PostgreSQL returned into the row the resolvers read (in place). */
function finish(row: Record<string, unknown>, shape: Shape): void {
  for (const name of shape.dates) {
    const ms = row[name];
    if (ms !== null && ms !== undefined) row[name] = new Date(ms as number);
  }
  for (const { name, shape: nested } of shape.lists) {
    const list = row[name] as Record<string, unknown>[];
    if (nested.dates.length > 0 || nested.lists.length > 0) for (const item of list) finish(item, nested);
  }
}

export interface CustomerRowsQuery {
  text: string;
  values: unknown[];
  /** Maps the statement's rows, in place, into the rows the resolvers read. */
  finish(rows: Record<string, unknown>[]): void;
}

export interface CustomerRowsOptions {
  /** The selection Pothos planned, with the consent the loader adds (`include` or `select`). */
  query: Query;
  /** The row filter and the request's filters. */
  where: Where;
  /** For a page: the purpose's row filter as disjoint branches (pageSelect), and `where` the request's filters alone. */
  branches?: readonly Where[];
  orderBy?: readonly OrderBy[];
  take?: number;
}

/** The statement that reads the customers, or null when something in it is not known here (read with Prisma then). */
export function customerRowsQuery({ query, where, branches, orderBy, take }: CustomerRowsOptions): CustomerRowsQuery | null {
  try {
    const params = new Params();
    const source =
      branches && orderBy && take !== undefined
        ? pageSelect(params, branches, where, orderBy, take, 'row')
        : customerSelect(params, where, orderBy, take);
    const { columns, shape } = projection('Customer', query, 'p', params, 0);
    // The page is chosen (and limited) first; the lists are built for its rows only.
    const order = orderBy ? ` ORDER BY ${orderTerms(orderBy, 'p').terms.join(', ')}` : '';
    const text = `SELECT ${columns.map(([name, sql]) => `${sql} AS "${name}"`).join(', ')} FROM (${source}) p${order}`;
    return {
      text,
      values: params.values,
      finish: (rows) => {
        for (const row of rows) finish(row, shape);
      },
    };
  } catch (error) {
    if (error instanceof Unsupported) return null;
    throw error;
  }
}
