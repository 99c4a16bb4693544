import { randomBytes, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

// BEFORE the change: shows finding 6 (a deleted client's key still works on another instance).
let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await createTestApp();
  b = await createTestApp();
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

const PURPOSES = `{ customers(first: 1) { totalCount } }`;

describe('before the change', () => {
  it('revokeClient through one instance: the other refuses within 1 s', async () => {
    const created = await a.graphql(
      `mutation { createClient(name: "x-${Date.now()}", role: CONSUMER, allowedPurposes: ["support"]) { apiKey client { id } } }`,
      { client: 'schema-admin' },
    );
    expect(created.body.errors).toBeUndefined();
  });

  it('deleting the row (the only way today): the other instance still accepts the key after 1.5 s', async () => {
    const key = `cq_${randomBytes(32).toString('base64url')}`;
    const name = `manual-${Date.now()}`;
    await a.db.pool.query(
      `INSERT INTO api_client (id, name, key_hash, role, allowed_purposes) VALUES (gen_random_uuid(), $1, $2, 'CONSUMER', '{support}')`,
      [name, createHash('sha256').update(key).digest('hex')],
    );
    const ask = (app: TestApp) => app.graphql(PURPOSES, { purpose: 'support', headers: { authorization: `Bearer ${key}` } });
    expect((await ask(b)).status).toBe(200);
    await a.db.pool.query(`DELETE FROM api_client WHERE name = $1`, [name]);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await ask(b)).status).toBe(401);
  });
});
