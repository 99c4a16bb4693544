import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PURPOSES } from '../../src/policy/index.ts';
import type { DeploymentMode } from '../../src/policy/types.ts';
import { keysetOrderBy, keysetWhere, type SortKey } from '../../src/schema/pagination/keyset.ts';
import { customerRowsQuery } from '../../src/schema/customer-rows.ts';
import { pageIdsQuery, readsConsent } from '../../src/schema/pagination/page-ids.ts';
import { permittedBranches, permittedWhere } from '../../src/schema/permitted-where.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { isolatedDatabase } from '../support/scratch.ts';

// The page-id statement (src/schema/pagination/page-ids.ts) chooses which
// customers a page of a consent-based purpose reads. It must select exactly
// what Prisma's form of the same row filter selects, in the same order: for
// every purpose, both deployment modes, each sort order, both directions of a
// keyset cursor and the filters a client can add, on the whole demo data set.

let app: TestApp;
let database: Awaited<ReturnType<typeof isolatedDatabase>>;
beforeAll(async () => {
  // Each comparison reads twice: no other test file may add a customer in between.
  database = await isolatedDatabase('pageids');
  app = await createTestApp({ databaseUrl: database.url });
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const id: SortKey = { field: 'id', descending: false, nullable: false };
const ORDERS: SortKey[][] = [
  [id],
  [{ field: 'churnScore', descending: true, nullable: true }, id],
  [{ field: 'createdAt', descending: false, nullable: false }, id],
  [{ field: 'lastName', descending: true, nullable: false }, id],
];
const TAKE = 300;

describe('the page-id statement', () => {
  it('selects what the row filter selects, in the same order, for every purpose, mode, order, direction and filter', async () => {
    const now = new Date();
    const [sample] = (
      await app.db.pool.query<{ id: string; churn_score: number | null; created_at: Date; last_name: string }>(
        'SELECT id, churn_score, created_at, last_name FROM customer ORDER BY id OFFSET 500 LIMIT 1',
      )
    ).rows;
    const cursorOf = (keys: SortKey[]) =>
      keys.map((k) =>
        k.field === 'id'
          ? sample.id
          : k.field === 'churnScore'
            ? sample.churn_score
            : k.field === 'createdAt'
              ? sample.created_at.toISOString()
              : sample.last_name,
      );
    let compared = 0;
    let nonEmpty = 0;
    const mismatches: string[] = [];
    for (const purpose of PURPOSES) {
      for (const mode of ['per-jurisdiction', 'strictest'] as DeploymentMode[]) {
        const branches = permittedBranches(purpose, mode, now);
        for (const keys of ORDERS) {
          for (const backward of [false, true]) {
            const filters = [
              {},
              { AND: [{ country: 'DE' }] },
              { AND: [{ country: 'US' }, { segment: 'vip' }] },
              keysetWhere(keys, cursorOf(keys), backward),
              { AND: [permittedWhere(purpose, mode, now, true)] },
            ];
            for (const where of filters) {
              const orderBy = keysetOrderBy(keys, backward);
              const expected = (
                await app.db.prisma.customer.findMany({
                  where: { AND: [permittedWhere(purpose, mode, now), where] },
                  orderBy,
                  take: TAKE,
                  select: { id: true },
                })
              ).map((r) => r.id);
              const statement = pageIdsQuery(branches, where, orderBy, TAKE);
              // Purposes that need no consent keep Prisma's one statement; the others must compile.
              if (!statement) {
                if (readsConsent(branches))
                  mismatches.push(`${purpose.key} ${mode}: not compiled for ${JSON.stringify(where).slice(0, 80)}`);
                continue;
              }
              const got = (await app.db.pool.query<{ id: string }>(statement.text, statement.values)).rows.map((r) => r.id);
              compared++;
              if (got.length > 0) nonEmpty++;
              if (got.join() !== expected.join()) {
                mismatches.push(
                  `${purpose.key} ${mode} ${JSON.stringify(orderBy)} backward=${backward} ${JSON.stringify(where).slice(0, 80)}: ${got.length} vs ${expected.length}`,
                );
              }
            }
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    // The comparisons ran, and mostly on pages with rows in them.
    expect(compared).toBeGreaterThan(300);
    expect(nonEmpty).toBeGreaterThan(compared / 2);
  }, 180_000);

  it("writes the purpose's values into the text as quoted literals, the row limit as a number, and the request's values (and times) as parameters", async () => {
    const quoted = "O'Quote";
    const customer = await app.db.prisma.customer.create({
      data: {
        externalId: 'PAGEIDS-QUOTE-1',
        email: 'quote@example.test',
        firstName: 'Q',
        lastName: quoted,
        country: 'DE',
        segment: "vip'; --",
      },
    });
    try {
      const since = new Date(0);
      const branch = { lastName: quoted, createdAt: { gt: since } };
      const where = { AND: [{ segment: "vip'; --" }] };
      const statement = pageIdsQuery([branch], where, [{ id: 'asc' }], 10);
      expect(statement?.text).toContain(`'O''Quote'::text`);
      expect(statement?.text).not.toContain('vip');
      expect(statement?.values).toEqual(["vip'; --", since.toISOString()]);
      expect(statement?.text).toMatch(/ LIMIT 10\)/);
      expect(statement?.text).not.toMatch(/LIMIT \$/);
      const { rows } = await app.db.pool.query<{ id: string }>(statement!.text, statement!.values);
      expect(rows.map((r) => r.id)).toEqual([customer.id]);
    } finally {
      await app.db.prisma.customer.delete({ where: { id: customer.id } });
    }
  });

  it('leaves the planner no value to estimate a custom plan from: row limits are numbers, times are read through a subquery', () => {
    // Else PostgreSQL plans the prepared page statement again on every read (see Params in page-ids.ts).
    const analytics = PURPOSES.find((p) => p.key === 'analytics')!;
    const now = new Date();
    const statement = customerRowsQuery({
      query: { select: { id: true, orders: { take: 5, orderBy: [{ placedAt: 'desc' }, { id: 'asc' }] } } },
      where: { createdAt: { gt: new Date(0) } },
      branches: permittedBranches(analytics, 'per-jurisdiction', now),
      orderBy: [{ id: 'asc' }],
      take: 101,
    });
    const text = statement!.text;
    expect(text).toContain(' LIMIT 101');
    expect(text).toContain(' LIMIT 5');
    expect(text).not.toMatch(/LIMIT \$/);
    const times = statement!.values.flatMap((v, i) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? [i + 1] : []));
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (const n of times) {
      const uses = text.split(`$${n}::`).length - 1;
      expect(uses).toBeGreaterThan(0);
      expect(text.split(`(SELECT $${n}::timestamp(3))`).length - 1).toBe(uses);
    }
  });
});
