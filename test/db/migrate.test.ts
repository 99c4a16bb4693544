import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { DEFAULT_MIGRATIONS_DIR, migrate, pgliteClient } from '../../src/db/migrate.ts';
import { migrationList, openSchemaEngine, SCHEMA_PATH } from '../../scripts/migration-create.ts';

// One PGlite for the whole file (initdb costs seconds); the cases build on
// each other in order, and the last one resets the schema.
const filters = { externalTables: [], externalEnums: [] };
const folders = fs
  .readdirSync(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let db: PGlite;
let tmp: string;
const client = () => pgliteClient(db);
const rows = async () =>
  (await db.query<any>('SELECT * FROM _prisma_migrations WHERE rolled_back_at IS NULL ORDER BY migration_name')).rows;

/** A copy of the real migrations folder that a case may change. */
function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'migrations-'));
  fs.cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

function addMigration(dir: string, name: string, sql: string): void {
  fs.mkdirSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
}

beforeAll(async () => {
  db = await PGlite.create();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'consentql-migrate-'));
});

afterAll(async () => {
  await db?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('migrate()', () => {
  it('applies every migration folder in order and records it as Prisma does', async () => {
    expect(folders.length).toBeGreaterThan(0);
    const { applied } = await migrate(client());
    expect(applied).toEqual(folders);

    const recorded = await rows();
    expect(recorded.map((r) => r.migration_name)).toEqual(folders);
    for (const r of recorded) {
      expect(r.checksum).toBe(sha256(path.join(DEFAULT_MIGRATIONS_DIR, r.migration_name, 'migration.sql')));
      expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.applied_steps_count).toBe(1);
      expect(r.finished_at.getTime()).toBeGreaterThanOrEqual(r.started_at.getTime());
      expect(r.logs).toBeNull();
    }
    const tables = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('customer', 'consent_event')`,
    );
    expect(tables.rows[0].n).toBe(2);
  });

  it('applies nothing the second time', async () => {
    expect(await migrate(client())).toEqual({ applied: [] });
    expect(await rows()).toHaveLength(folders.length);
  });

  it("is accepted by Prisma's own engine (migrate deploy / status logic, wasm build)", async () => {
    const engine = await openSchemaEngine(db, fs.readFileSync(SCHEMA_PATH, 'utf8'));
    try {
      const list = migrationList(DEFAULT_MIGRATIONS_DIR);
      expect(await engine.applyMigrations({ migrationsList: list, filters })).toEqual({ appliedMigrationNames: [] });
      const diagnosis = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters });
      expect(diagnosis).toMatchObject({ editedMigrationNames: [], failedMigrationNames: [], history: null });
    } finally {
      engine.free();
    }
  });

  it('applies only a new migration, and rolls back a failing one without recording it', async () => {
    const dir = copyMigrations();
    addMigration(dir, '29990101000000_add_note', 'CREATE TABLE note (id int PRIMARY KEY);\n');
    expect(await migrate(client(), { migrationsDir: dir })).toEqual({ applied: ['29990101000000_add_note'] });

    addMigration(dir, '29990101000001_broken', 'CREATE TABLE half (id int);\nSELECT no_such_function();\n');
    await expect(migrate(client(), { migrationsDir: dir })).rejects.toThrow(/Migration 29990101000001_broken failed and was rolled back/);
    expect((await rows()).map((r) => r.migration_name)).not.toContain('29990101000001_broken');
    expect((await db.query(`SELECT to_regclass('half') AS t`)).rows[0]).toEqual({ t: null });
    // The lock was released: another run gets through (and fails the same way).
    await expect(migrate(client(), { migrationsDir: dir })).rejects.toThrow(/29990101000001_broken/);
  });

  it('rejects a migration edited after it was applied, saying which and what to do', async () => {
    const dir = copyMigrations();
    const file = path.join(dir, folders[0], 'migration.sql');
    const before = sha256(file);
    fs.appendFileSync(file, '\n-- edited\n');
    const err = await migrate(client(), { migrationsDir: dir }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`Migration ${folders[0]} was edited after it was applied`);
    expect((err as Error).message).toContain(before);
    expect((err as Error).message).toContain(sha256(file));
    expect((err as Error).message).toMatch(/Restore the file .* new migration/);
  });

  it('accepts CRLF line endings as Prisma does (git on Windows)', async () => {
    const dir = copyMigrations();
    const file = path.join(dir, folders[0], 'migration.sql');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    fs.rmSync(path.join(dir, '29990101000000_add_note'), { recursive: true, force: true });
    expect(await migrate(client(), { migrationsDir: dir })).toEqual({ applied: [] });
  });

  it("accepts a database that Prisma's engine migrated", async () => {
    await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    const engine = await openSchemaEngine(db, fs.readFileSync(SCHEMA_PATH, 'utf8'));
    try {
      const out = await engine.applyMigrations({ migrationsList: migrationList(DEFAULT_MIGRATIONS_DIR), filters });
      expect(out.appliedMigrationNames).toEqual(folders);
    } finally {
      engine.free();
    }
    expect(await migrate(client())).toEqual({ applied: [] });
  });
});

describe('migration 20261201020525_bulk_data_and_rights', () => {
  it("moves the subjects of earlier access records into access_subject before dropping access_record's list", async () => {
    await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    const target = folders.find((f) => f.endsWith('_bulk_data_and_rights'))!;
    // The database as the release before it left it, with two access records naming subjects.
    const before = fs.mkdtempSync(path.join(tmp, 'before-'));
    for (const f of folders.filter((f) => f < target))
      fs.cpSync(path.join(DEFAULT_MIGRATIONS_DIR, f), path.join(before, f), { recursive: true });
    await migrate(client(), { migrationsDir: before });
    const a = '11111111-1111-4111-8111-111111111111';
    const b = '22222222-2222-4222-8222-222222222222';
    await db.query(
      `INSERT INTO access_record (id, purpose_key, operation, subject_ids, fields_masked, occurred_at) VALUES
         (1, 'support', 'One', ARRAY[$1, $2]::text[], 0, '2026-11-30 10:00:00'),
         (2, 'marketing', 'None', ARRAY[]::text[], 0, '2026-11-30 11:00:00')`,
      [a, b],
    );
    await migrate(client());
    const records = await db.query<any>('SELECT id::int, subjects FROM access_record ORDER BY id');
    expect(records.rows).toEqual([
      { id: 1, subjects: 2 },
      { id: 2, subjects: 0 },
    ]);
    const subjects = await db.query<any>(
      `SELECT record_id::int, customer_id, returned, masked, occurred_at FROM access_subject ORDER BY customer_id`,
    );
    expect(subjects.rows).toEqual([
      { record_id: 1, customer_id: a, returned: null, masked: null, occurred_at: new Date('2026-11-30T10:00:00Z') },
      { record_id: 1, customer_id: b, returned: null, masked: null, occurred_at: new Date('2026-11-30T10:00:00Z') },
    ]);
    const column = await db.query(
      `SELECT 1 FROM information_schema.columns WHERE table_name = 'access_record' AND column_name = 'subject_ids'`,
    );
    expect(column.rows).toEqual([]);
  });
});
