import { queryFromInfo } from '@pothos/plugin-prisma';
import { isObjectType, type GraphQLSchema } from 'graphql';
import type { Prisma } from '../generated/prisma/client.ts';
import { ConsentQLError } from '../errors.ts';
import { builder } from './builder.ts';
import { TAG_EXTENSION, type FieldTag } from './consent-plugin/index.ts';
import type { Context } from './context.ts';
import { keysetOrderBy, keysetWhere, positionOf, type SortKey } from './pagination/keyset.ts';
import { cursorBinding, openCursor, pageOf } from './pagination/page.ts';
import { permittedWhere } from './permitted-where.ts';
import { countCustomers, loadCustomers, requireConsent, type SubjectRow } from './subjects.ts';
import { CustomerRef } from './types/customer.ts';

/** Fields a list may be filtered by: the GraphQL field whose visibility governs it. */
const CustomerFilter = builder.inputType('CustomerFilter', {
  description:
    'Filters apply only where the declared purpose may see the field: a field the purpose does not serve is ' +
    'rejected (FILTER_NOT_ALLOWED), and otherwise the filter matches only subjects whose consent lets you see it.',
  fields: (t) => ({
    country: t.string({ description: 'ISO country code, e.g. "DE".' }),
    region: t.string({ description: 'Region or US state code, e.g. "CA".' }),
    segment: t.string(),
    riskBand: t.string(),
  }),
});

const CustomerOrderField = builder.enumType('CustomerOrderField', {
  values: {
    CREATED_AT: { value: 'createdAt' },
    LIFETIME_VALUE: { value: 'lifetimeValue' },
    CHURN_SCORE: { value: 'churnScore' },
    LAST_NAME: { value: 'lastName' },
  } as const,
});

const SortDirection = builder.enumType('SortDirection', { values: ['ASC', 'DESC'] as const });

const CustomerOrder = builder.inputType('CustomerOrder', {
  description: 'Sorting by a field is confined, like filtering, to subjects whose value you may see.',
  fields: (t) => ({
    field: t.field({ type: CustomerOrderField, required: true }),
    direction: t.field({ type: SortDirection, defaultValue: 'ASC' }),
  }),
});

type FilterInput = { country?: string | null; region?: string | null; segment?: string | null; riskBand?: string | null };
type OrderInput = { field: 'createdAt' | 'lifetimeValue' | 'churnScore' | 'lastName'; direction?: 'ASC' | 'DESC' | null };

function customerTag(schemaField: string, info: { schema: GraphQLSchema }): FieldTag | undefined {
  const type = info.schema.getType('Customer');
  if (!isObjectType(type)) return undefined;
  const tag = type.getFields()[schemaField]?.extensions?.[TAG_EXTENSION];
  return tag && typeof tag !== 'string' ? (tag as FieldTag) : undefined;
}

/**
 * The WHERE of a customer list for this request (the loaders add the row
 * filter of the purpose): each filter and sort field confined to subjects
 * who permit it. A field the purpose does not serve cannot be filtered or
 * sorted by.
 */
function customerWhere(
  ctx: Context,
  info: { schema: GraphQLSchema },
  filter: FilterInput | null | undefined,
  order: OrderInput | null | undefined,
): Prisma.CustomerWhereInput {
  const { purpose, now } = requireConsent(ctx);
  const and: Prisma.CustomerWhereInput[] = [];
  const guarded = new Map<string, string>();
  for (const [field, value] of Object.entries(filter ?? {})) {
    if (value === null || value === undefined) continue;
    guarded.set(field, `filter.${field}`);
    // Stored jurisdiction data is trimmed and upper-cased by the database.
    and.push({ [field]: field === 'country' || field === 'region' ? value.trim().toUpperCase() : value });
  }
  if (order) guarded.set(order.field, `orderBy.field`);
  for (const [field, argument] of guarded) {
    const tag = customerTag(field, info);
    if (!tag?.serves.includes(purpose.key)) {
      throw new ConsentQLError(
        'FILTER_NOT_ALLOWED',
        `${argument} uses Customer.${field}, which the purpose "${purpose.key}" may not read, so it cannot filter or sort by it either. ` +
          `Remove ${argument}, or declare a purpose that ${field} serves (${tag?.serves.join(', ') ?? 'none'}).`,
        { argument, field, purpose: purpose.key },
      );
    }
    if (tag.sensitive) and.push(permittedWhere(purpose, ctx.mode, now, true));
  }
  return { AND: and };
}

/** The sort of a customer list: the chosen field (unknown churn scores last), then the id, which keeps pages stable. */
function sortKeys(order: OrderInput | null | undefined): SortKey[] {
  const id: SortKey = { field: 'id', descending: false, nullable: false };
  if (!order) return [id];
  return [{ field: order.field, descending: order.direction === 'DESC', nullable: order.field === 'churnScore' }, id];
}

function sortColumns(keys: readonly SortKey[]): Record<string, true> {
  return Object.fromEntries(keys.map((key) => [key.field, true]));
}

/** An edge of a page of customers: its cursor is sealed only when asked for (a page of 1,000 rows rarely needs 1,000 cursors). */
class Edge {
  readonly node: SubjectRow;
  private readonly seal: (row: SubjectRow) => string;
  constructor(node: SubjectRow, seal: (row: SubjectRow) => string) {
    this.node = node;
    this.seal = seal;
  }
  get cursor(): string {
    return this.seal(this.node);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

builder.queryType({
  fields: (t) => ({
    customer: t.prismaField({
      type: 'Customer',
      nullable: true,
      description:
        'One customer by id; null when absent or when the customer gives the declared purpose no legal basis (the two are not told apart).',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, ctx) => {
        const id = String(args.id);
        if (!UUID.test(id)) {
          throw new ConsentQLError('BAD_USER_INPUT', `customer(id:) expects a customer UUID, but got ${JSON.stringify(id)}.`, {
            argument: 'id',
          });
        }
        const [row] = await loadCustomers(ctx, { query, where: { id } });
        return (row ?? null) as never;
      },
    }),
    customers: t.connection(
      {
        type: CustomerRef,
        description:
          'Customers as a Relay connection: only subjects who give the declared purpose a legal basis appear (in lists, counts and pages). ' +
          'Cursors are opaque and valid only for the client, purpose and order that received them.',
        args: {
          filter: t.arg({ type: CustomerFilter }),
          orderBy: t.arg({ type: CustomerOrder }),
        },
        resolve: async (_root, args, ctx, info) => {
          requireConsent(ctx);
          const page = pageOf(args);
          const keys = sortKeys(args.orderBy);
          const binding = cursorBinding(ctx, 'customers', keys);
          const cursor = page.cursor === null ? null : openCursor(ctx, page.cursor, binding, keys);
          const where = customerWhere(ctx, info, args.filter, args.orderBy);
          const rows = await loadCustomers(ctx, {
            // The sort key's columns too: the cursors hold each row's position.
            query: queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: sortColumns(keys) }),
            where: cursor ? { AND: [where, keysetWhere(keys, cursor, page.backward)] } : where,
            orderBy: keysetOrderBy(keys, page.backward),
            take: page.size + 1,
          });
          const more = rows.length > page.size;
          const nodes = rows.slice(0, page.size);
          if (page.backward) nodes.reverse();
          const seal = (row: SubjectRow) => ctx.cursors.seal(positionOf(keys, row as unknown as Record<string, unknown>), binding);
          return {
            edges: nodes.map((node) => new Edge(node, seal)),
            pageInfo: {
              hasNextPage: page.backward ? page.cursor !== null : more,
              hasPreviousPage: page.backward ? more : page.cursor !== null,
              get startCursor() {
                return nodes.length > 0 ? seal(nodes[0]) : null;
              },
              get endCursor() {
                return nodes.length > 0 ? seal(nodes[nodes.length - 1]) : null;
              },
            },
            where,
          } as never;
        },
      },
      {
        fields: (c) => ({
          totalCount: c.int({
            nullable: false,
            description: 'How many customers match, among those who give the declared purpose a legal basis.',
            resolve: (connection, _args, ctx) => countCustomers(ctx, (connection as unknown as { where: Prisma.CustomerWhereInput }).where),
          }),
        }),
      },
    ),
  }),
});
