import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { GDPR_COUNTRIES } from '../../src/policy/regime.ts';

// Pagination is confined like filtering: cursors are sealed positions, bound
// to the client, purpose and order that received them, and a page after one
// shows only subjects the request may see (finding 1 of the enforcement review).

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const PAGE = `query($first: Int, $last: Int, $after: String, $before: String, $order: CustomerOrder) {
  customers(first: $first, last: $last, after: $after, before: $before, orderBy: $order) {
    edges { cursor node { id lastName } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const BY_LAST_NAME = { field: 'LAST_NAME', direction: 'ASC' };
const marketing = { client: 'email-platform-sync', purpose: 'marketing' };

async function page(variables: Record<string, unknown>, who: { client: string; purpose: string } = marketing) {
  const { body } = await app.graphql(PAGE, { ...who, variables: { order: BY_LAST_NAME, ...variables } });
  return body;
}

/** The ids a marketing read may see, in (lastName, id) order, straight from SQL with the rule restated. */
async function permittedInOrder(): Promise<{ id: string; lastName: string }[]> {
  const { rows } = await app.db.pool.query<{ id: string; last_name: string }>(
    `SELECT c.id, c.last_name FROM customer c
      WHERE (c.country = 'US' AND c.region IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose_key = 'marketing' AND NOT s.sensitive
                  AND s.regime = CASE WHEN c.region = 'CA' THEN 'CCPA'::"Regime" ELSE 'US_STATE'::"Regime" END
                  AND s.action IN ('WITHDRAW', 'OPT_OUT')))
         OR (NOT (c.country = 'US' AND c.region IS NOT NULL) AND EXISTS (
               SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose_key = 'marketing' AND NOT s.sensitive
                  AND s.regime = CASE WHEN c.country = ANY($1) THEN 'GDPR'::"Regime" ELSE 'NONE'::"Regime" END
                  AND s.action IN ('GRANT', 'OPT_IN') AND s.purpose_version = 1 AND (s.expires_at IS NULL OR s.expires_at > now())))
      ORDER BY c.last_name COLLATE "C", c.id`,
    [[...GDPR_COUNTRIES]],
  );
  return rows.map((r) => ({ id: r.id, lastName: r.last_name }));
}

describe('cursors', () => {
  it('are opaque: no id can be read from them', async () => {
    const body = await page({ first: 3 });
    for (const edge of body.data.customers.edges) {
      expect(edge.cursor).not.toContain(edge.node.id);
      expect(Buffer.from(edge.cursor, 'base64').toString('latin1')).not.toContain(edge.node.id);
      expect(Buffer.from(edge.cursor, 'base64url').toString('latin1')).not.toContain(edge.node.id);
    }
  });

  it('cannot be forged to point at an arbitrary subject (the old GPC:S:<uuid> form)', async () => {
    const { rows } = await app.db.pool.query<{ id: string }>(`SELECT id FROM customer ORDER BY id LIMIT 1`);
    const forged = Buffer.from(`GPC:S:${rows[0].id}`).toString('base64');
    for (const variables of [
      { first: 1, after: forged },
      { last: 1, before: forged },
    ]) {
      const body = await page(variables);
      expect(body.data?.customers ?? null).toBeNull();
      expect(body.errors[0].extensions.code).toBe('INVALID_CURSOR');
      expect(JSON.stringify(body)).not.toContain(rows[0].id);
    }
  });

  it('hold only for the client, purpose and order that received them', async () => {
    const cursor = (await page({ first: 1 })).data.customers.pageInfo.endCursor;
    const otherPurpose = await page({ first: 1, after: cursor }, { client: 'schema-admin', purpose: 'marketing' });
    expect(otherPurpose.errors[0].extensions.code).toBe('INVALID_CURSOR');
    const otherClientSamePurpose = await page({ first: 1, after: cursor }, { client: 'schema-admin', purpose: 'support' });
    expect(otherClientSamePurpose.errors[0].extensions.code).toBe('INVALID_CURSOR');
    const otherOrder = await page({ first: 1, after: cursor, order: { field: 'LAST_NAME', direction: 'DESC' } });
    expect(otherOrder.errors[0].extensions.code).toBe('INVALID_CURSOR');
    // One message for every refusal: it tells nothing about why, or about whom.
    expect(new Set([otherPurpose, otherClientSamePurpose, otherOrder].map((b) => b.errors[0].message)).size).toBe(1);
  });
});

describe('keyset pages', () => {
  it('page forwards and backwards over exactly the subjects the purpose permits', async () => {
    const expected = await permittedInOrder();
    const first = await page({ first: 7 });
    expect(first.data.customers.edges.map((e: any) => e.node.id)).toEqual(expected.slice(0, 7).map((r) => r.id));
    const second = await page({ first: 7, after: first.data.customers.pageInfo.endCursor });
    expect(second.data.customers.edges.map((e: any) => e.node.id)).toEqual(expected.slice(7, 14).map((r) => r.id));
    expect(second.data.customers.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const back = await page({ last: 7, before: second.data.customers.pageInfo.startCursor });
    expect(back.data.customers.edges.map((e: any) => e.node.id)).toEqual(expected.slice(0, 7).map((r) => r.id));
    expect(back.data.customers.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const last = await page({ last: 3 });
    expect(last.data.customers.edges.map((e: any) => e.node.id)).toEqual(expected.slice(-3).map((r) => r.id));
  });

  it('bracket no excluded subject: the neighbours of every cursor are permitted neighbours', async () => {
    // Finding 1: with cursors of excluded subjects, the neighbours bracketed their last names.
    // Today only cursors of rows the request saw exist, and both neighbours come from the permitted order.
    const expected = await permittedInOrder();
    const index = new Map(expected.map((r, i) => [r.id, i]));
    const firstPage = await page({ first: 25 });
    for (const edge of firstPage.data.customers.edges.slice(0, 10)) {
      const at = index.get(edge.node.id)!;
      const after = await page({ first: 1, after: edge.cursor });
      const before = await page({ last: 1, before: edge.cursor });
      expect(after.data.customers.edges.map((e: any) => e.node.id)).toEqual([expected[at + 1].id]);
      expect(before.data.customers.edges.map((e: any) => e.node.id)).toEqual(at === 0 ? [] : [expected[at - 1].id]);
    }
  });

  it('a cursor of a subject who has since withdrawn still pages from its position, revealing nothing new', async () => {
    const expected = await permittedInOrder();
    const head = await page({ first: 3 });
    const [, middle] = head.data.customers.edges;
    // The same position, continued, gives the same permitted neighbours as before.
    const after = await page({ first: 1, after: middle.cursor });
    expect(after.data.customers.edges[0].node.id).toBe(expected[2].id);
  });

  it('refuse mixed or out-of-range paging arguments with a clear error', async () => {
    for (const variables of [{ first: 1, last: 1 }, { first: 1001 }, { last: -1 }]) {
      const body = await page(variables);
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(body.errors[0].message).toMatch(/first|last/);
    }
  });
});
