import { isObjectType, type GraphQLSchema } from 'graphql';
import type { Prisma } from '../generated/prisma/client.ts';
import { ConsentQLError } from '../errors.ts';
import { builder } from './builder.ts';
import { TAG_EXTENSION, type FieldTag } from './consent-plugin/index.ts';
import type { Context } from './context.ts';
import { permittedWhere } from './permitted-where.ts';
import { registerSubjects, withConsent, type SubjectRow } from './subjects.ts';

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

function requireConsent(ctx: Context) {
  if (!ctx.consent) {
    // The request pipeline rejects requests without a purpose before
    // execution; reaching here means it was bypassed: refuse.
    throw new ConsentQLError('PURPOSE_REQUIRED', 'A purpose is required to read personal data: send the X-Purpose header.');
  }
  return ctx.consent;
}

function customerTag(schemaField: string, info: { schema: GraphQLSchema }): FieldTag | undefined {
  const type = info.schema.getType('Customer');
  if (!isObjectType(type)) return undefined;
  const tag = type.getFields()[schemaField]?.extensions?.[TAG_EXTENSION];
  return tag && tag !== 'surrogate-key' ? (tag as FieldTag) : undefined;
}

/**
 * The WHERE of a customer list for this request: the row exclusion of the
 * purpose, plus each filter and sort field confined to subjects who permit
 * it. A field the purpose does not serve cannot be filtered or sorted by.
 */
function customerWhere(
  ctx: Context,
  info: { schema: GraphQLSchema },
  filter: FilterInput | null | undefined,
  order: OrderInput | null | undefined,
  { excludeRows = true } = {},
): Prisma.CustomerWhereInput {
  const consent = requireConsent(ctx);
  const { purpose, now } = consent;
  const and: Prisma.CustomerWhereInput[] = [];
  if (purpose.excludeRows && excludeRows) and.push(permittedWhere(purpose, ctx.mode, now));

  const guarded = new Map<string, string>();
  for (const [field, value] of Object.entries(filter ?? {})) {
    if (value === null || value === undefined) continue;
    guarded.set(field, `filter.${field}`);
    and.push({ [field]: field === 'country' || field === 'region' ? value.toUpperCase() : value });
  }
  if (order) guarded.set(order.field, `orderBy.field`);
  for (const [field, argument] of guarded) {
    const tag = customerTag(field, info);
    if (!tag || !tag.serves.includes(purpose.key)) {
      throw new ConsentQLError(
        'FILTER_NOT_ALLOWED',
        `${argument} uses Customer.${field}, which the purpose "${purpose.key}" may not read, so it cannot filter or sort by it either. ` +
          `Remove ${argument}, or declare a purpose that ${field} serves (${tag?.serves.join(', ') ?? 'none'}).`,
        { argument, field, purpose: purpose.key },
      );
    }
    and.push(permittedWhere(purpose, ctx.mode, now, tag.sensitive));
  }
  return and.length === 0 ? {} : { AND: and };
}

function customerOrderBy(order: OrderInput | null | undefined): Prisma.CustomerOrderByWithRelationInput[] {
  if (!order) return [{ id: 'asc' }];
  const sort = order.direction === 'DESC' ? 'desc' : 'asc';
  // Unknown values last whichever the direction; the id keeps pages stable.
  const key = order.field === 'churnScore' ? { sort, nulls: 'last' as const } : sort;
  return [{ [order.field]: key }, { id: 'asc' }];
}

builder.queryType({
  fields: (t) => ({
    customer: t.prismaField({
      type: 'Customer',
      nullable: true,
      description: 'One customer by id; null when absent or excluded for the declared purpose.',
      args: { id: t.arg.id({ required: true }) },
      resolve: async (query, _root, args, ctx, info) => {
        const consent = requireConsent(ctx);
        const id = String(args.id);
        if (!/^[0-9a-f-]{36}$/i.test(id)) {
          throw new ConsentQLError('BAD_USER_INPUT', `customer(id:) expects a customer UUID, but got ${JSON.stringify(id)}.`, {
            argument: 'id',
          });
        }
        const where = customerWhere(ctx, info, null, null);
        const row = await ctx.db.prisma.customer.findFirst({ ...withConsent(query, consent.purpose.key), where: { AND: [where, { id }] } });
        if (row) registerSubjects(consent, ctx.mode, [row as unknown as SubjectRow]);
        return row;
      },
    }),
    customers: t.prismaConnection(
      {
        type: 'Customer',
        cursor: 'id',
        description: 'Customers as a Relay connection. For purposes that exclude rows, only permitted subjects appear.',
        args: {
          filter: t.arg({ type: CustomerFilter }),
          orderBy: t.arg({ type: CustomerOrder }),
        },
        resolve: async (query, _root, args, ctx, info) => {
          const consent = requireConsent(ctx);
          const rows = await ctx.db.prisma.customer.findMany({
            ...withConsent(query, consent.purpose.key),
            where: customerWhere(ctx, info, args.filter, args.orderBy),
            orderBy: customerOrderBy(args.orderBy),
          });
          registerSubjects(consent, ctx.mode, rows as unknown as SubjectRow[]);
          return rows;
        },
        totalCount: async (_parent, args, ctx, info) => {
          const consent = requireConsent(ctx);
          const count = (where: Prisma.CustomerWhereInput) => ctx.db.prisma.customer.count({ where });
          const permitted = count(customerWhere(ctx, info, args.filter, args.orderBy));
          if (!consent.purpose.excludeRows) return permitted;
          // The one place the excluded rows are counted: only when a total is asked for.
          const [kept, all] = await Promise.all([
            permitted,
            count(customerWhere(ctx, info, args.filter, args.orderBy, { excludeRows: false })),
          ]);
          consent.excludedRows = all - kept;
          return kept;
        },
      },
      {},
      {},
    ),
  }),
});

