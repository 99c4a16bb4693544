import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestApp, type TestApp } from '../support/app.ts';
import { emptyDatabase } from '../support/scratch.ts';
import {
  ALLOW_DEMO_CLIENTS_FLAG,
  DEMO_CLIENTS,
  demoSeedRefusal,
  findDemoClientRows,
  refuseDemoClientsInProduction,
} from '../../src/db/demo-clients.ts';
import { startApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import pino from 'pino';

// Finding 3 of issue 9: `npm run db:seed` wrote the published demo keys into
// any PostgreSQL, and a production start on that database accepted them
// (dev-admin-key read clear emails).

const root = path.resolve(import.meta.dirname, '../..');
const DEMO_NAMES = DEMO_CLIENTS.map((c) => c.name).sort();

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

describe('the start-up check against the test database (seeded with the demo clients)', () => {
  it('finds every demo client by the hash of its key', async () => {
    const found = await findDemoClientRows(app.db.pool);
    expect(found.map((r) => r.name)).toEqual(DEMO_NAMES);
    expect(found.every((r) => r.name === r.demoClient)).toBe(true);
  });

  it('refuses a production start, naming the clients and saying how to delete or rotate them', async () => {
    const attempt = refuseDemoClientsInProduction(app.db.pool, 'production');
    await expect(attempt).rejects.toThrow(/^NODE_ENV=production, but api_client holds 7 demo clients whose keys are published/);
    const message = await attempt.catch((e: Error) => e.message);
    for (const c of DEMO_CLIENTS) expect(message).toContain(`${c.name} (${c.apiKey})`);
    expect(message).toContain(`DELETE FROM api_client WHERE name IN (${DEMO_NAMES.map((n) => `'${n}'`).join(', ')});`);
    expect(message).toContain('npm run client -- revoke --name <name>');
    expect(message).toContain('npm run client -- rotate --name <name> --overlap 0');
  });

  it('lets a start through once the demo clients are revoked', async () => {
    // One connection, rolled back: the other test files need the demo clients.
    const client = await app.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE api_client SET revoked_at = now() WHERE name = ANY($1)`, [DEMO_NAMES]);
      await expect(refuseDemoClientsInProduction(client, 'production')).resolves.toBeUndefined();
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('lets development and test starts through', async () => {
    await expect(refuseDemoClientsInProduction(app.db.pool, 'development')).resolves.toBeUndefined();
    await expect(refuseDemoClientsInProduction(app.db.pool, 'test')).resolves.toBeUndefined();
  });
});

describe('npm run db:seed under NODE_ENV=production', () => {
  it('is refused unless forced with --allow-demo-clients', () => {
    expect(demoSeedRefusal('production', false)).toMatch(/^Seed refused: NODE_ENV=production, and the seed writes the demo API clients/);
    expect(demoSeedRefusal('production', false)).toContain('dev-admin-key');
    expect(demoSeedRefusal('production', false)).toContain(`npm run db:seed -- ${ALLOW_DEMO_CLIENTS_FLAG}`);
    expect(demoSeedRefusal('production', true)).toBeNull();
    expect(demoSeedRefusal('development', false)).toBeNull();
    expect(demoSeedRefusal(undefined, false)).toBeNull();
  });

  describe('the script, on a scratch database', () => {
    let scratch: { url: string; drop(): Promise<void> };
    beforeAll(async () => {
      scratch = await emptyDatabase('consentql_demo_credentials');
    }, 60_000);
    afterAll(() => scratch?.drop());

    const tables = async () => {
      const client = new pg.Client({ connectionString: scratch.url });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
        return rows.map((r) => r.tablename as string);
      } finally {
        await client.end();
      }
    };

    it('refuses before touching the database, with a clear message', async () => {
      const run = await seedScript(scratch.url, []);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('Seed refused: NODE_ENV=production');
      expect(run.stderr).toContain(ALLOW_DEMO_CLIENTS_FLAG);
      expect(await tables()).toEqual([]);
    }, 60_000);

    it('writes them when forced; a production start on that database then fails before serving, until they are rotated or deleted', async () => {
      const run = await seedScript(scratch.url, [ALLOW_DEMO_CLIENTS_FLAG, '--customers=0']);
      expect({ code: run.code, stderr: run.stderr }).toEqual({
        code: 0,
        stderr: expect.stringContaining('warning: demo clients written under NODE_ENV=production'),
      });

      const config = loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: scratch.url,
        DATABASE_POOL_SIZE: '1',
        PORT: '0',
        HOST: '127.0.0.1',
        CONSENTQL_HMAC_KEYS: `k1:${'s'.repeat(40)}`,
        CONSENTQL_PROOF_KEY: 'p'.repeat(40),
      });
      await expect(startApp(config, pino({ level: 'silent' }))).rejects.toThrow(
        /api_client holds 7 demo clients whose keys are published.*schema-admin \(dev-admin-key\)/,
      );

      // Rotated (a new key's hash) or deleted, they no longer count.
      const client = new pg.Client({ connectionString: scratch.url });
      await client.connect();
      try {
        await client.query(
          `UPDATE api_client SET key_hash = encode(sha256(convert_to('a-new-random-key', 'UTF8')), 'hex') WHERE name = 'schema-admin'`,
        );
        expect((await findDemoClientRows(client)).map((r) => r.name)).toEqual(DEMO_NAMES.filter((n) => n !== 'schema-admin'));
        await client.query(`DELETE FROM api_client WHERE name <> 'schema-admin'`);
        await expect(refuseDemoClientsInProduction(client, 'production')).resolves.toBeUndefined();
      } finally {
        await client.end();
      }
    }, 120_000);
  });
});

/** `npm run db:seed` as a child process, under NODE_ENV=production. */
function seedScript(url: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/db-seed.ts', ...args], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
