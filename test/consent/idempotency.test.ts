import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_MIGRATIONS_DIR, migrate, pgliteClient, readMigrations, type MigrationClient } from '../../src/db/migrate.ts';
import { requestFingerprint } from '../../src/consent/idempotency.ts';
import { FIND_BY_KEY } from '../../src/consent/ledger.ts';
import { createTestApp, databaseUrl, type TestApp } from '../support/app.ts';
import { createSubject, GRANT, ledgerRows, WITHDRAW } from './support.ts';

// Idempotency keys are matched exactly, per client: a key is an opaque string,
// never a pattern (issue 9, finding 1).

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const recorder = { client: 'consent-center', purpose: 'consent_management' };
const READ = `query($id: ID!) { customer(id: $id) { id firstName email } }`;

async function readAsMarketing(id: string) {
  const { body } = await app.graphql(READ, { client: 'email-platform-sync', purpose: 'marketing', variables: { id } });
  expect(body.errors).toBeUndefined();
  return body.data.customer;
}

describe('idempotency keys are matched exactly', () => {
  it('records a withdrawal whose key differs from earlier keys only where LIKE would see a wildcard (_)', async () => {
    const subject = await createSubject(app.db, { country: 'DE' }, 'Wanda');
    const n = subject.id;
    const base = { subject: { id: subject.id }, purposes: ['marketing'], source: 'EMAIL_LINK' };

    const withdrawn = await app.graphql(WITHDRAW, { ...recorder, variables: { input: { ...base, idempotencyKey: `unsub-${n}` } } });
    expect(withdrawn.body.errors).toBeUndefined();
    const regranted = await app.graphql(GRANT, {
      ...recorder,
      variables: { input: { ...base, source: 'CONSENT_CENTER', noticeVersion: 'v1', idempotencyKey: `regrant-${n}` } },
    });
    expect(regranted.body.errors).toBeUndefined();
    expect(regranted.body.data.grantConsent.replayed).toBe(false);
    expect((await readAsMarketing(subject.id))?.firstName).toBe('Wanda');
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 1, outbox: 2 });

    // `_` is LIKE's one-character wildcard: a prefix match takes this for `unsub-N`.
    const again = await app.graphql(WITHDRAW, { ...recorder, variables: { input: { ...base, idempotencyKey: `unsub_${n}` } } });
    expect(again.status).toBe(200);
    expect(again.body.errors).toBeUndefined();
    const { replayed, events } = again.body.data.withdrawConsent;
    expect(replayed).toBe(false);
    expect(events).toHaveLength(1);
    expect(events[0].action).toBe('WITHDRAW');
    expect(events[0].id).not.toBe(withdrawn.body.data.withdrawConsent.events[0].id);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 3, states: 1, outbox: 3 });
    // The withdrawal is honoured: no legal basis left, the subject is not returned.
    expect(await readAsMarketing(subject.id)).toBeNull();
  });

  it('treats %, _ and \\ in a key as plain characters', async () => {
    const subject = await createSubject(app.db, { country: 'FR' }, 'Pia');
    const base = { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' };
    const first = await app.graphql(GRANT, { ...recorder, variables: { input: { ...base, idempotencyKey: `grant-${subject.id}` } } });
    expect(first.body.data.grantConsent.replayed).toBe(false);

    // `%` would match any run of characters, every key of this client included.
    const percent = `%${subject.id.slice(-12)}`;
    const withdrawn = await app.graphql(WITHDRAW, {
      ...recorder,
      variables: { input: { ...base, noticeVersion: null, source: 'EMAIL_LINK', idempotencyKey: percent } },
    });
    expect(withdrawn.body.errors).toBeUndefined();
    expect(withdrawn.body.data.withdrawConsent.replayed).toBe(false);
    expect(await readAsMarketing(subject.id)).toBeNull();

    // The same odd key again is an exact match: a replay.
    const retried = await app.graphql(WITHDRAW, {
      ...recorder,
      variables: { input: { ...base, noticeVersion: null, source: 'EMAIL_LINK', idempotencyKey: percent } },
    });
    expect(retried.body.errors).toBeUndefined();
    expect(retried.body.data.withdrawConsent.replayed).toBe(true);
    expect(retried.body.data.withdrawConsent.events).toEqual(withdrawn.body.data.withdrawConsent.events);

    for (const key of ['%', '_', '\\', `a\\_%:b${subject.id}`]) {
      const granted = await app.graphql(GRANT, { ...recorder, variables: { input: { ...base, idempotencyKey: `${key}${subject.id}` } } });
      expect(granted.body.errors).toBeUndefined();
      expect(granted.body.data.grantConsent.replayed).toBe(false);
    }
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 6, states: 1, outbox: 6 });
  });

  it('sends no pattern match to the database', async () => {
    const subject = await createSubject(app.db, { country: 'NL' });
    const input = {
      subject: { id: subject.id },
      purposes: ['analytics'],
      source: 'API',
      noticeVersion: 'v1',
      idempotencyKey: `plain-${subject.id}`,
    };
    app.resetQueries();
    await app.graphql(GRANT, { ...recorder, variables: { input } });
    await app.graphql(GRANT, { ...recorder, variables: { input } });
    const keyed = app.queries.filter((q) => /idempotency/i.test(q));
    expect(keyed.length).toBeGreaterThan(0);
    expect(keyed.filter((q) => /\b(I?LIKE|SIMILAR TO)\b|~/i.test(q))).toEqual([]);
  });
});

describe('the lookup of a key', () => {
  it('probes the primary key of consent_idempotency and reaches the ledger only by event id', async () => {
    const conn = await app.db.pool.connect();
    const plan = async (params: string[]) =>
      (await conn.query(`EXPLAIN (COSTS OFF) ${FIND_BY_KEY}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
    const params = ['81617417-4f4e-41e8-819f-bce5b9bd2162', 'unsub_%'];
    try {
      // Whatever the planner picks for a table of a few rows, never a scan of the ledger.
      expect(await plan(params)).not.toMatch(/Seq Scan on consent_event/);
      // With a key for every event of the ledger (rolled back), the lookup is
      // exact equality on the leading columns of the primary key: one probe.
      await conn.query('BEGIN');
      try {
        await conn.query(
          `INSERT INTO consent_idempotency (client_id, idempotency_key, purpose_key, fingerprint, event_id)
           SELECT md5(e.id::text), 'key-' || e.id, e.purpose_key, md5(e.id::text), e.id
             FROM consent_event e WHERE NOT EXISTS (SELECT 1 FROM consent_idempotency i WHERE i.event_id = e.id)`,
        );
        await conn.query('ANALYZE consent_idempotency');
        const probed = await plan(params);
        expect(probed).toMatch(/Index (Only )?Scan using consent_idempotency_pkey on consent_idempotency/);
        expect(probed).toMatch(/Index Cond: \(\(client_id = .+\) AND \(idempotency_key = .+\)\)/);
        expect(probed).toMatch(/Index Scan using consent_event_pkey on consent_event/);
        expect(probed).not.toMatch(/Seq Scan/);
      } finally {
        await conn.query('ROLLBACK');
      }
    } finally {
      conn.release();
    }
  });
});

describe('replays and reuse', () => {
  it('replays the same request with the same event ids, whichever way it names the subject and orders its purposes', async () => {
    const subject = await createSubject(app.db, { country: 'AT' });
    const input = {
      subject: { id: subject.id },
      purposes: ['marketing', 'analytics'],
      source: 'CONSENT_CENTER',
      noticeVersion: 'v7',
      expiresAt: '2031-01-01T00:00:00Z',
      idempotencyKey: `same-${subject.id}`,
    };
    const first = await app.graphql(GRANT, { ...recorder, variables: { input } });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.grantConsent.replayed).toBe(false);
    const ids = first.body.data.grantConsent.events.map((e: any) => e.id);
    expect(ids).toHaveLength(2);

    const retry = await app.graphql(GRANT, { ...recorder, variables: { input } });
    expect(retry.body.data.grantConsent.replayed).toBe(true);
    expect(retry.body.data.grantConsent.events).toEqual(first.body.data.grantConsent.events);

    const reordered = await app.graphql(GRANT, {
      ...recorder,
      headers: { 'user-agent': 'another browser', 'x-forwarded-for': '198.51.100.9' },
      variables: { input: { ...input, subject: { externalId: subject.externalId }, purposes: ['analytics', 'marketing'] } },
    });
    expect(reordered.body.errors).toBeUndefined();
    expect(reordered.body.data.grantConsent.replayed).toBe(true);
    expect(reordered.body.data.grantConsent.events.map((e: any) => e.id)).toEqual(ids);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 2, outbox: 2 });
  });

  it.each([
    ['noticeVersion', { noticeVersion: 'v2' }],
    ['expiresAt', { expiresAt: '2032-06-30T00:00:00Z' }],
    ['purposes', { purposes: ['marketing', 'analytics'] }],
    ['source', { source: 'CRM' }],
    ['sensitive', { sensitive: true }],
  ])('refuses the same key with another %s: 409 IDEMPOTENCY_KEY_REUSED, nothing recorded', async (field, change) => {
    const subject = await createSubject(app.db, { country: 'BE' });
    const input = {
      subject: { id: subject.id },
      purposes: ['marketing'],
      source: 'CONSENT_CENTER',
      noticeVersion: 'v1',
      expiresAt: '2031-01-01T00:00:00Z',
      idempotencyKey: `mismatch-${subject.id}`,
    };
    const first = await app.graphql(GRANT, { ...recorder, variables: { input } });
    expect(first.body.errors).toBeUndefined();
    const before = await ledgerRows(app.db, subject.id);

    const reused = await app.graphql(GRANT, { ...recorder, variables: { input: { ...input, ...change } } });
    expect(reused.status).toBe(409);
    expect(reused.body.data?.grantConsent ?? null).toBeNull();
    const error = reused.body.errors[0];
    expect(error.extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(error.extensions.argument).toBe('idempotencyKey');
    expect(error.extensions.differs).toEqual([field]);
    expect(error.message).toContain(`mismatch-${subject.id}`);
    expect(error.message).toContain(field);
    expect(error.message).toMatch(/new idempotencyKey/);
    expect(await ledgerRows(app.db, subject.id)).toEqual(before);

    // The first request's key still replays it.
    const retry = await app.graphql(GRANT, { ...recorder, variables: { input } });
    expect(retry.body.data.grantConsent.replayed).toBe(true);
  });

  it('refuses the same key for another subject or action', async () => {
    const subject = await createSubject(app.db, { country: 'IT' });
    const other = await createSubject(app.db, { country: 'IT' });
    const key = `subject-${subject.id}`;
    const input = { subject: { id: subject.id }, purposes: ['marketing'], source: 'API', noticeVersion: 'v1', idempotencyKey: key };
    await app.graphql(GRANT, { ...recorder, variables: { input } });

    const otherSubject = await app.graphql(GRANT, { ...recorder, variables: { input: { ...input, subject: { id: other.id } } } });
    expect(otherSubject.status).toBe(409);
    expect(otherSubject.body.errors[0].extensions.differs).toEqual(['subject']);
    const otherAction = await app.graphql(WITHDRAW, { ...recorder, variables: { input: { ...input, noticeVersion: 'v1' } } });
    expect(otherAction.status).toBe(409);
    expect(otherAction.body.errors[0].extensions.differs).toEqual(['action']);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 1, states: 1, outbox: 1 });
    expect(await ledgerRows(app.db, other.id)).toEqual({ events: 0, states: 0, outbox: 0 });
  });

  it('scopes keys per client: the same key from another client records anew', async () => {
    const subject = await createSubject(app.db, { country: 'ES' });
    const input = {
      subject: { id: subject.id },
      purposes: ['marketing'],
      source: 'API',
      noticeVersion: 'v1',
      idempotencyKey: `shared-${subject.id}`,
    };
    const mine = await app.graphql(GRANT, { ...recorder, variables: { input } });
    expect(mine.body.data.grantConsent.replayed).toBe(false);
    const theirs = await app.graphql(GRANT, { client: 'schema-admin', purpose: 'consent_management', variables: { input } });
    expect(theirs.body.errors).toBeUndefined();
    expect(theirs.body.data.grantConsent.replayed).toBe(false);
    expect(theirs.body.data.grantConsent.events[0].id).not.toBe(mine.body.data.grantConsent.events[0].id);
    // Each client replays its own.
    const theirRetry = await app.graphql(GRANT, { client: 'schema-admin', purpose: 'consent_management', variables: { input } });
    expect(theirRetry.body.data.grantConsent.events).toEqual(theirs.body.data.grantConsent.events);
    expect(await ledgerRows(app.db, subject.id)).toEqual({ events: 2, states: 1, outbox: 2 });
  });
});

describe('migration 20261130203000_idempotency_exact', () => {
  const MIGRATION = '20261130203000_idempotency_exact';

  /** A database of its own (a schema of the test PostgreSQL, or an in-process PGlite), migrated up to just before MIGRATION. */
  async function scratchDatabase(): Promise<{ client: MigrationClient; close(): Promise<void> }> {
    if (inject('databaseKind') === 'postgresql') {
      const schema = `idem_migration_${randomUUID().replaceAll('-', '')}`;
      const conn = new pg.Client({ connectionString: databaseUrl() });
      await conn.connect();
      await conn.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
      return {
        client: conn,
        close: async () => {
          await conn.query(`DROP SCHEMA ${schema} CASCADE`);
          await conn.end();
        },
      };
    }
    const db = await PGlite.create();
    return { client: pgliteClient(db), close: () => db.close() };
  }

  it('moves the keys already recorded to consent_idempotency, with the fingerprint a retry computes, and drops the old column', async () => {
    const before = fs.mkdtempSync(path.join(os.tmpdir(), 'idem-migrations-'));
    for (const m of readMigrations().filter((m) => m.name < MIGRATION)) {
      fs.cpSync(path.join(DEFAULT_MIGRATIONS_DIR, m.name), path.join(before, m.name), { recursive: true });
    }
    const { client, close } = await scratchDatabase();
    try {
      await migrate(client, { migrationsDir: before });
      const subject = randomUUID();
      const apiClient = randomUUID();
      await client.query(
        `INSERT INTO customer (id, external_id, email, first_name, last_name) VALUES ($1, 'LEGACY-1', 'legacy@consentql.test', 'Leg', 'Acy')`,
        [subject],
      );
      // As the ledger wrote them: "<client id>:<key>:<purpose>", one event per purpose of a request.
      const notice = 'v"1\n\\ é\u0001';
      const legacy: [string | null, string, string, string, boolean, string | null, string | null][] = [
        [`${apiClient}:retry:with:colons_%:marketing`, 'marketing', 'GRANT', 'CONSENT_CENTER', false, notice, '2031-01-01 00:00:00.123'],
        [`${apiClient}:retry:with:colons_%:analytics`, 'analytics', 'GRANT', 'CONSENT_CENTER', false, notice, '2031-01-01 00:00:00.123'],
        ['consent-center-page:nonce-1:personalization', 'personalization', 'WITHDRAW', 'EMAIL_LINK', true, null, null],
        ['not-a-ledger-key', 'marketing', 'OPT_OUT', 'API', false, null, null],
        [null, 'marketing', 'OPT_OUT', 'API', false, null, null],
      ];
      const ids: string[] = [];
      for (const [key, purpose, action, source, sensitive, noticeVersion, expiresAt] of legacy) {
        const { rows } = await client.query(
          `INSERT INTO consent_event (customer_id, purpose_key, purpose_version, action, source, notice_version, regime, sensitive,
                                      expires_at, idempotency_key)
           VALUES ($1, $2, 1, $3::"ConsentAction", $4::"ConsentSource", $5, 'GDPR', $6, $7::timestamp, $8) RETURNING id::text`,
          [subject, purpose, action, source, noticeVersion, sensitive, expiresAt, key],
        );
        ids.push(rows[0].id);
      }

      await migrate(client);

      const { rows } = await client.query(
        `SELECT client_id, idempotency_key, purpose_key, fingerprint, event_id::text FROM consent_idempotency ORDER BY event_id`,
      );
      const granted = requestFingerprint(subject, {
        purposes: ['marketing', 'analytics'],
        action: 'GRANT',
        source: 'CONSENT_CENTER',
        sensitive: false,
        noticeVersion: notice,
        expiresAt: new Date('2031-01-01T00:00:00.123Z'),
      });
      const withdrawn = requestFingerprint(subject, {
        purposes: ['personalization'],
        action: 'WITHDRAW',
        source: 'EMAIL_LINK',
        sensitive: true,
        noticeVersion: null,
        expiresAt: null,
      });
      expect(rows).toEqual([
        { client_id: apiClient, idempotency_key: 'retry:with:colons_%', purpose_key: 'marketing', fingerprint: granted, event_id: ids[0] },
        { client_id: apiClient, idempotency_key: 'retry:with:colons_%', purpose_key: 'analytics', fingerprint: granted, event_id: ids[1] },
        {
          client_id: 'consent-center-page',
          idempotency_key: 'nonce-1',
          purpose_key: 'personalization',
          fingerprint: withdrawn,
          event_id: ids[2],
        },
      ]);

      // The ledger's lookup finds them by exact key, and only by it.
      const found = await client.query(FIND_BY_KEY, [apiClient, 'retry:with:colons_%']);
      expect(found.rows.map((r) => [String(r.id), r.purposeKey, r.fingerprint])).toEqual([
        [ids[0], 'marketing', granted],
        [ids[1], 'analytics', granted],
      ]);
      expect((await client.query(FIND_BY_KEY, [apiClient, 'retry:with:colons__'])).rows).toEqual([]);
      expect((await client.query(FIND_BY_KEY, [apiClient, 'retry:%'])).rows).toEqual([]);

      const columns = await client.query(
        `SELECT count(*)::int AS n FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'consent_event' AND column_name = 'idempotency_key'`,
      );
      expect(columns.rows[0].n).toBe(0);
      // Erasure of the subject takes its keys with its events.
      await client.query(`DELETE FROM customer WHERE id = $1`, [subject]);
      expect((await client.query(`SELECT count(*)::int AS n FROM consent_idempotency`)).rows[0].n).toBe(0);
    } finally {
      await close();
      fs.rmSync(before, { recursive: true, force: true });
    }
  });
});
