import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/prisma/client.ts';
import { PURPOSES } from '../../src/policy/index.ts';
import { customerRowsQuery } from '../../src/schema/customer-rows.ts';
import { keysetOrderBy, type SortKey } from '../../src/schema/pagination/keyset.ts';
import { permittedBranches, permittedWhere } from '../../src/schema/permitted-where.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { isolatedDatabase } from '../support/scratch.ts';

// The API reads customers with one SQL statement of its own (src/schema/customer-rows.ts)
// instead of Prisma. It must give the resolvers what Prisma would: the same rows in the
// same order, every selected value equal (Decimal as the string the Decimal scalar
// returns), the nested lists with their own order and limit, and each row's consent.
// Compared here with Prisma's findMany for the selections the schema plans and the
// filters, orders and purposes the API uses, on the whole demo data set.

let app: TestApp;
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
beforeAll(async () => {
  // Each comparison reads twice: no other test file may add a customer in between.
  database = await isolatedDatabase('customerrows');
  app = await createTestApp({ databaseUrl: database.url });
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const consentStates = (purposeKey: string) => ({
  where: { purposeKey },
  select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true },
});

/** Selections as the Pothos Prisma plugin plans them (customer.ts, records.ts), with the consent the loader adds. */
const SELECTIONS = (purposeKey: string): Record<string, { include?: object; select?: object }> => ({
  scalars: { include: { consentStates: consentStates(purposeKey) } },
  nested: {
    include: {
      orders: { take: 5, orderBy: [{ placedAt: 'desc' }, { id: 'asc' }], include: { items: { orderBy: { sku: 'asc' } } } },
      tickets: {
        take: 2,
        orderBy: [{ openedAt: 'desc' }, { id: 'asc' }],
        include: { messages: { orderBy: [{ sentAt: 'asc' }, { id: 'asc' }] } },
      },
      interactions: { take: 3, orderBy: [{ occurredAt: 'desc' }, { id: 'asc' }] },
      webEvents: { take: 100, orderBy: [{ occurredAt: 'desc' }, { id: 'asc' }] },
      consentStates: consentStates(purposeKey),
    },
  },
  select: {
    select: { id: true, country: true, region: true, birthDate: true, lifetimeValue: true, consentStates: consentStates(purposeKey) },
  },
});

const id: SortKey = { field: 'id', descending: false, nullable: false };
const ORDERS: SortKey[][] = [
  [id],
  [{ field: 'churnScore', descending: true, nullable: true }, id],
  [{ field: 'lifetimeValue', descending: false, nullable: false }, id],
];

/** A subject's consent states are a set (one per regime and sensitivity), read in no particular order by either side. */
const stateKey = (state: unknown) => JSON.stringify(state);

/** Prisma's values as the resolvers serialise them: Decimal as its string; dates compared as instants. */
function normalise(value: unknown): unknown {
  if (value instanceof Date) return `date:${value.toISOString()}`;
  if (value instanceof Prisma.Decimal) return String(value);
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const normalised = normalise(v);
        return [
          k,
          k === 'consentStates' && Array.isArray(normalised)
            ? normalised.sort((a, b) => stateKey(a).localeCompare(stateKey(b)))
            : normalised,
        ];
      }),
    );
  }
  return value;
}

/** Where two values first differ, as `path: got vs expected`, or null when they are equal. */
function firstDifference(got: unknown, expected: unknown, path = ''): string | null {
  if (JSON.stringify(got) === JSON.stringify(expected)) return null;
  if (got && expected && typeof got === 'object' && typeof expected === 'object') {
    for (const key of new Set([...Object.keys(got), ...Object.keys(expected)])) {
      const found = firstDifference((got as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return `${path}: ${JSON.stringify(got)?.slice(0, 200)} vs ${JSON.stringify(expected)?.slice(0, 200)}`;
}

async function raw(statement: NonNullable<ReturnType<typeof customerRowsQuery>>) {
  const { rows } = await app.db.pool.query<Record<string, unknown>>(statement.text, statement.values);
  statement.finish(rows);
  return rows;
}

describe('customers read by one SQL statement', () => {
  it('gives what Prisma gives, for every selection, purpose, order and page', async () => {
    const now = new Date();
    const mismatches: string[] = [];
    let compared = 0;
    let values = 0;
    for (const purpose of PURPOSES) {
      const branches = permittedBranches(purpose, 'per-jurisdiction', now);
      for (const [name, query] of Object.entries(SELECTIONS(purpose.key))) {
        for (const keys of ORDERS) {
          const orderBy = keysetOrderBy(keys, false);
          const take = 40;
          const where = { AND: [permittedWhere(purpose, 'per-jurisdiction', now), { country: { in: ['DE', 'US', 'FR', 'BR'] } }] };
          const expected = normalise(await app.db.prisma.customer.findMany({ ...query, where, orderBy, take } as never));
          // The row filter as one condition, and as branches that stop at the page (pageSelect).
          const single = customerRowsQuery({ query, where, orderBy, take });
          const paged = customerRowsQuery({ query, where: { country: { in: ['DE', 'US', 'FR', 'BR'] } }, branches, orderBy, take });
          for (const [how, statement] of [
            ['one condition', single],
            ['branches', paged],
          ] as const) {
            if (!statement) {
              mismatches.push(`${purpose.key} ${name} ${how}: not compiled`);
              continue;
            }
            const got = normalise(await raw(statement));
            compared++;
            values += JSON.stringify(got).length;
            const difference = firstDifference(got, expected);
            if (difference) mismatches.push(`${purpose.key} ${name} ${JSON.stringify(orderBy)} ${how}: ${difference}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(compared).toBe(PURPOSES.length * 3 * ORDERS.length * 2);
    expect(values).toBeGreaterThan(100_000);
  }, 180_000);

  it('reads one customer by id (no order, no page) as Prisma does', async () => {
    const { rows } = await app.db.pool.query<{ id: string }>(
      'SELECT c.id FROM customer c WHERE EXISTS (SELECT 1 FROM "order" o WHERE o.customer_id = c.id) ORDER BY c.id LIMIT 3',
    );
    for (const { id: customerId } of rows) {
      const query = SELECTIONS('support').nested;
      const statement = customerRowsQuery({ query, where: { id: customerId } });
      const expected = normalise(await app.db.prisma.customer.findMany({ ...query, where: { id: customerId } } as never));
      expect(normalise(await raw(statement!))).toEqual(expected);
      expect((expected as { orders: unknown[] }[])[0].orders.length).toBeGreaterThan(0);
    }
  });

  it('reads what raw SQL may have written as Prisma does: a NULL list, trailing zeros, no dates', async () => {
    const { rows } = await app.db.pool.query<{ id: string }>(
      `INSERT INTO customer (id, external_id, email, first_name, last_name, country, lifetime_value, health_interests, birth_date, churn_score)
       VALUES (gen_random_uuid(), $1, $2, 'Null', 'Lists', 'DE', 120.50, NULL, NULL, NULL) RETURNING id`,
      [`ROWS-${Date.now()}`, `rows-${Date.now()}@consentql.test`],
    );
    const query = SELECTIONS('support').nested;
    const where = { id: rows[0].id };
    const expected = normalise(await app.db.prisma.customer.findMany({ ...query, where } as never));
    const got = normalise(await raw(customerRowsQuery({ query, where })!));
    expect(firstDifference(got, expected)).toBeNull();
    expect(got).toMatchObject([{ healthInterests: [], lifetimeValue: '120.5', birthDate: null }]);
  });

  it('declines what it does not know, so that the loader reads it with Prisma', () => {
    const where = { id: '00000000-0000-0000-0000-000000000000' };
    expect(customerRowsQuery({ query: { include: { orders: { skip: 1 } } }, where })).toBeNull();
    expect(customerRowsQuery({ query: { include: { _count: true } }, where })).toBeNull();
    expect(customerRowsQuery({ query: { include: { orders: { where: { total: { gt: 1 } } } } }, where })).toBeNull();
    expect(customerRowsQuery({ query: {}, where: { email: { contains: 'x' } } as never })).toBeNull();
    expect(customerRowsQuery({ query: {}, where })).not.toBeNull();
  });
});
