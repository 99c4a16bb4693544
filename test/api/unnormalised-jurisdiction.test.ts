import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createTestApp, type TestApp } from '../support/app.ts';
import { OPT_OUT } from '../consent/support.ts';

// Finding 5: a US customer stored as region 'ca' was filtered in SQL as one
// regime and decided in code as another, so a filter on a masked field
// revealed it. The database now keeps jurisdiction data in one normal form.

let app: TestApp;
const tag = randomUUID().slice(0, 8);
/** A segment only these rows have: a count over it counts exactly them. */
const segment = `at_risk-${tag}`;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(async () => {
  await app.db.pool.query(`DELETE FROM customer WHERE external_id LIKE $1`, [`UNNORM-${tag}-%`]);
  await app.close();
});

async function insert(suffix: string, country: string | null, region: string | null): Promise<string> {
  const { rows } = await app.db.pool.query<{ id: string; country: string | null; region: string | null }>(
    `INSERT INTO customer (id, external_id, email, first_name, last_name, country, region, segment, updated_at)
     VALUES (gen_random_uuid(), $1, $2, 'Una', 'Normalised', $3, $4, $5, now()) RETURNING id, country, region`,
    [`UNNORM-${tag}-${suffix}`, `${tag}-${suffix}@consentql.test`, country, region, segment],
  );
  return rows[0].id;
}

describe('unnormalised jurisdiction data', () => {
  it('is decided alike by the row filter and the policy: an opted-out Californian stored as "us"/"ca" is absent', async () => {
    const californian = await insert('ca', ' us', 'ca ');
    const unknownState = await insert('blank', 'US', '  ');
    const { rows } = await app.db.pool.query(`SELECT country, region FROM customer WHERE id = ANY($1) ORDER BY region NULLS LAST`, [
      [californian, unknownState],
    ]);
    expect(rows).toEqual([
      { country: 'US', region: 'CA' },
      { country: 'US', region: null },
    ]);
    const out = await app.graphql(OPT_OUT, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: { input: { subject: { id: californian }, purposes: ['analytics'], source: 'CRM' } },
    });
    expect(out.body.data.optOut.events[0].regime).toBe('CCPA');

    // Both rows lack a basis for analytics (opted out in California; no state: strictest). Stored raw,
    // the SQL twin read them as US_STATE subjects who never opted out and counted them.
    const { body } = await app.graphql(
      `query($s: String) { customers(first: 10, filter: { segment: $s }) { totalCount edges { node { id } } } }`,
      {
        client: 'analytics-app',
        purpose: 'analytics',
        variables: { s: segment },
      },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.customers).toEqual({ totalCount: 0, edges: [] });
    // A US customer without a state is under no known law: strictest (opt-in), so absent without a grant.
    const unknown = await app.graphql(`query($id: ID!) { customer(id: $id) { segment } }`, {
      client: 'analytics-app',
      purpose: 'analytics',
      variables: { id: unknownState },
    });
    expect(unknown.body.data.customer).toBeNull();
  });
});
