import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LEDGER_LOCK } from '../../src/consent/ledger.ts';
import { startApp } from '../../src/app.ts';
import { AccessLog } from '../../src/audit/access-log.ts';
import { loadConfig } from '../../src/config.ts';
import { resumePendingErasures, type RightsDeps } from '../../src/rights/erase.ts';
import { erasureSubjectHash } from '../../src/rights/proof.ts';
import { createTestApp, databaseUrl, poolSize, type TestApp, testConfig, testMasker } from '../support/app.ts';
import { isolatedDatabase } from '../support/scratch.ts';
import { GRANT } from '../consent/support.ts';
import { createFullSubject, ERASE, rowsNaming } from './support.ts';

// An erasure survives a crash half-way: the request is recorded as PENDING
// first, and the erasure itself is one transaction. Two crashes are
// simulated: after the PENDING row (the subject still whole), and inside the
// transaction (a statement made to fail by a trigger of this test).

let app: TestApp;
let deps: RightsDeps;
const masker = testMasker();
const proofKey = testConfig().keys.proof;
/**
 * The purposes whose consumers hear of a full subject's erasure (tests/rights/support.ts: in Germany,
 * choices about marketing and ai_training, extracts of both, a support read): those it chose about or
 * is in an extract of, and those needing no consent (contract). Not analytics, personalization, ad_sharing.
 */
const TOLD = ['ai_training', 'consent_management', 'marketing', 'support', 'transactional'];

let database: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  // On PostgreSQL, a database of this file's own: another file's reads would name these subjects in access records.
  database = await isolatedDatabase('rights_crash');
  app = await createTestApp({ databaseUrl: database.url });
  deps = { db: app.db, masker, proofKey, mode: 'per-jurisdiction' };
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function pending(customerId: string) {
  await app.db.pool.query(
    `INSERT INTO erasure (subject_hash, customer_id, status, source, requested_at)
     VALUES ($1, $2::uuid, 'PENDING', 'admin client schema-admin', now())`,
    [erasureSubjectHash(customerId, proofKey), customerId],
  );
}

async function erasure(customerId: string) {
  const { rows } = await app.db.pool.query(
    `SELECT id::text, customer_id::text AS "customerId", status::text, completed_at AS "completedAt" FROM erasure WHERE subject_hash = $1`,
    [erasureSubjectHash(customerId, proofKey)],
  );
  return rows[0];
}

/** The erasure notices of a subject (they name it only by pseudonym). */
async function notices(customerId: string) {
  const { rows } = await app.db.pool.query(
    `SELECT count(*)::int AS n FROM outbox_event WHERE payload->'subjectKeys'->>'consent_management' = $1`,
    [masker.pseudonym(customerId, 'consent_management')],
  );
  return rows[0].n;
}

/** The subject is whole: every table still holds what it held (the access log may only have added to its own). */
function expectIntact(now: Record<string, number>, before: Record<string, number>) {
  for (const [table, n] of Object.entries(before)) {
    if (table === 'access_record' || table === 'access_subject') expect(now[table], table).toBeGreaterThanOrEqual(n);
    else expect(now[table], table).toBe(n);
  }
}

const expectErased = async (customerId: string) => {
  const after = await rowsNaming(app.db, customerId);
  expect(
    Object.values(after).every((n) => n === 0),
    JSON.stringify(after),
  ).toBe(true);
  expect(await erasure(customerId)).toMatchObject({ customerId: null, status: 'DONE', completedAt: expect.any(Date) });
  expect(await notices(customerId)).toBe(TOLD.length);
};

describe('a crash after the request was recorded (PENDING, subject whole)', () => {
  it('is completed by the resume at start-up', async () => {
    const subject = await createFullSubject(app);
    await pending(subject.id);
    expect(await erasure(subject.id)).toMatchObject({ customerId: subject.id, status: 'PENDING', completedAt: null });
    expect(await notices(subject.id)).toBe(0);
    expect(await resumePendingErasures(deps)).toBeGreaterThanOrEqual(1);
    await expectErased(subject.id);
    // Nothing left to resume, and resuming again sends nothing more.
    expect(await resumePendingErasures(deps)).toBe(0);
    expect(await notices(subject.id)).toBe(TOLD.length);
  });

  it('is completed by a retry of the request, which sends the notices once', async () => {
    const subject = await createFullSubject(app);
    await pending(subject.id);
    const retried = await app.graphql(ERASE, { client: 'schema-admin', variables: { subject: { id: subject.id } } });
    expect(retried.body.errors).toBeUndefined();
    expect(retried.body.data.eraseSubject).toMatchObject({ status: 'DONE', alreadyErased: false, notices: TOLD.length });
    await expectErased(subject.id);
  });

  it('is completed when the server starts (src/app.ts), before it serves', async () => {
    const subject = await createFullSubject(app);
    await pending(subject.id);
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: database.url ?? databaseUrl(),
      DATABASE_POOL_SIZE: String(poolSize() ?? ''),
      PORT: '0',
      HOST: '127.0.0.1',
      // The shared test database has other files' webhook subscriptions: this server must not deliver them.
      CONSENTQL_WEBHOOK_DISPATCH: 'off',
    });
    const server = await startApp(config, pino({ level: 'silent' }));
    try {
      await expectErased(subject.id);
    } finally {
      await server.close();
    }
  });
});

describe('a failure inside the erasure transaction', () => {
  it('rolls everything back, leaves the request PENDING, and the resume completes it', async () => {
    const subject = await createFullSubject(app);
    const before = await rowsNaming(app.db, subject.id);
    // The last statement of the transaction (marking the request DONE) fails, for this subject only.
    const name = `fail_erasure_${subject.id.replaceAll('-', '').slice(0, 12)}`;
    await app.db.pool.query(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
    );
    await app.db.pool.query(
      `CREATE TRIGGER ${name} BEFORE UPDATE ON erasure FOR EACH ROW
       WHEN (OLD.customer_id = '${subject.id}'::uuid AND NEW.status = 'DONE') EXECUTE FUNCTION ${name}()`,
    );
    try {
      const failed = await app.graphql(ERASE, { client: 'schema-admin', variables: { subject: { id: subject.id } } });
      expect(failed.body.data?.eraseSubject ?? null).toBeNull();
      expect(failed.body.errors[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      // Nothing of the transaction happened: the subject is whole, no notice was queued, the request waits.
      expectIntact(await rowsNaming(app.db, subject.id), before);
      expect(await notices(subject.id)).toBe(0);
      expect(await erasure(subject.id)).toMatchObject({ customerId: subject.id, status: 'PENDING', completedAt: null });
      // While the failure persists, the resume fails too, and changes nothing.
      await expect(resumePendingErasures(deps)).rejects.toThrow();
      expectIntact(await rowsNaming(app.db, subject.id), before);
    } finally {
      await app.db.pool.query(`DROP TRIGGER IF EXISTS ${name} ON erasure`);
      await app.db.pool.query(`DROP FUNCTION IF EXISTS ${name}()`);
    }
    expect(await resumePendingErasures(deps)).toBeGreaterThanOrEqual(1);
    await expectErased(subject.id);
  });
});

describe.skipIf(inject('databaseKind') !== 'postgresql')('the ledger lock (PostgreSQL: two sessions)', () => {
  it('holds the erasure back while a consent write holds the lock, so outbox ids stay in commit order', async () => {
    const subject = await createFullSubject(app);
    const writer = new pg.Client({ connectionString: database.url ?? databaseUrl() });
    await writer.connect();
    try {
      // A consent write in progress: it holds the ledger's lock until it commits.
      await writer.query('BEGIN');
      await writer.query('SELECT pg_advisory_xact_lock($1::bigint)', [LEDGER_LOCK]);
      let settled = false;
      const erasing = app
        .graphql(ERASE, { client: 'schema-admin', variables: { subject: { id: subject.id } } })
        .finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      expect((await writer.query('SELECT count(*)::int AS n FROM customer WHERE id = $1', [subject.id])).rows[0].n).toBe(1);
      // The write's outbox row commits first; the erasure's notices come after it.
      const { rows } = await writer.query<{ id: string }>(
        `INSERT INTO outbox_event (topic, customer_id, purpose_key, payload) VALUES ('test.marker', NULL, 'test', '{}') RETURNING id::text`,
      );
      await writer.query('COMMIT');
      const erased = await erasing;
      expect(erased.body.errors).toBeUndefined();
      const first = await writer.query<{ id: string }>(
        `SELECT min(id)::text AS id FROM outbox_event WHERE payload->'subjectKeys'->>'consent_management' = $1`,
        [masker.pseudonym(subject.id, 'consent_management')],
      );
      expect(BigInt(first.rows[0].id)).toBeGreaterThan(BigInt(rows[0].id));
      await writer.query(`DELETE FROM outbox_event WHERE id = $1::bigint`, [rows[0].id]);
    } finally {
      await writer.query('ROLLBACK').catch(() => {});
      await writer.end();
    }
  });

  it('tells a consent write that waited for the lock behind an erasure that the subject is gone, with a code', async () => {
    const subject = await createFullSubject(app);
    const eraser = new pg.Client({ connectionString: database.url ?? databaseUrl() });
    await eraser.connect();
    try {
      // An erasure in progress: it holds the ledger's lock, and has deleted the customer.
      await eraser.query('BEGIN');
      await eraser.query('SELECT pg_advisory_xact_lock($1::bigint)', [LEDGER_LOCK]);
      // The write finds the subject, then waits for the lock.
      const writing = app.graphql(GRANT, {
        client: 'consent-center',
        purpose: 'consent_management',
        variables: { input: { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v7' } },
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await eraser.query('DELETE FROM customer WHERE id = $1', [subject.id]);
      await eraser.query('COMMIT');
      const { body } = await writing;
      expect(body.data?.grantConsent ?? null).toBeNull();
      expect(body.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/erased|no longer exists/i),
        extensions: { code: 'NOT_FOUND' },
      });
    } finally {
      await eraser.query('ROLLBACK').catch(() => {});
      await eraser.end();
    }
  });
});

describe.skipIf(inject('databaseKind') !== 'postgresql')('the access log while an erasure commits (PostgreSQL: two sessions)', () => {
  it('writes no row naming the subject for a read whose record is written while the erasure is in flight', async () => {
    const subject = await createFullSubject(app);
    const log = new AccessLog(app.db, pino({ level: 'silent' }), { flushIntervalMs: 60_000 });
    // The erasure stops for a while after its last statement, before it commits: the customer is
    // deleted and its access rows too, but other sessions still see both.
    const name = `slow_erasure_${subject.id.replaceAll('-', '').slice(0, 12)}`;
    await app.db.pool.query(
      `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NEW; END $$`,
    );
    await app.db.pool.query(
      `CREATE TRIGGER ${name} AFTER UPDATE ON erasure FOR EACH ROW
       WHEN (OLD.customer_id = '${subject.id}'::uuid AND NEW.status = 'DONE') EXECUTE FUNCTION ${name}()`,
    );
    try {
      const erasing = app.graphql(ERASE, { client: 'schema-admin', variables: { subject: { id: subject.id } } });
      // Until the erasure is in its pause.
      for (let i = 0; i < 100; i++) {
        const { rows } = await app.db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'UPDATE erasure SET status%'`);
        if (rows.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const operation = `ReadDuringErasure${Date.now()}`;
      log.record({
        clientId: null,
        purposeKey: 'support',
        operation,
        fieldsMasked: 0,
        rowsExcluded: null,
        subjects: [{ subjectId: subject.id, returned: [], masked: [] }],
      });
      await log.flush();
      const { body } = await erasing;
      expect(body.errors).toBeUndefined();
      const { rows } = await app.db.pool.query<{ subjects: number; named: number }>(
        `SELECT a.subjects, (SELECT count(*)::int FROM access_subject s WHERE s.record_id = a.id) AS named
           FROM access_record a WHERE a.operation = $1`,
        [operation],
      );
      // The read is recorded (and counted), but names no one.
      expect(rows).toEqual([{ subjects: 1, named: 0 }]);
      expect(await rowsNaming(app.db, subject.id)).toMatchObject({ access_subject: 0 });
    } finally {
      await log.close();
      await app.db.pool.query(`DROP TRIGGER IF EXISTS ${name} ON erasure`);
      await app.db.pool.query(`DROP FUNCTION IF EXISTS ${name}()`);
    }
  });
});
