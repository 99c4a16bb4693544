import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { AccessLog } from '../../src/audit/access-log.ts';
import { AccessRetention } from '../../src/audit/retention.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { createMasker } from '../../src/masking/index.ts';
import { createServer } from '../../src/server.ts';
import { createSubject } from '../consent/support.ts';
import { databaseUrl, keyOf, poolSize, TEST_PEER_ADDRESS, testConfig } from '../support/app.ts';

// Per-subject access records through Yoga's real HTTP handling: a server of
// this file's own, whose access log flushes only when told to (an interval
// far beyond the test), so "written off the request path" is observable.

let db: Database;
let accessLog: AccessLog;
let graphql: (query: string, client: string, purpose: string | null, variables?: object) => Promise<{ status: number; body: any }>;

beforeAll(async () => {
  const config = testConfig();
  db = await openDatabase({ databaseUrl: databaseUrl(), poolSize: poolSize() });
  const logger = pino({ level: 'silent' });
  accessLog = new AccessLog(db, logger, { flushIntervalMs: 60_000, batchSize: 10_000 });
  const yoga = createServer({ config, db, logger, masker: createMasker(config.keys.hmac), accessLog });
  graphql = async (query, client, purpose, variables) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${keyOf(client)}`,
    };
    if (purpose) headers['x-purpose'] = purpose;
    const response = await yoga.fetch(
      new Request('http://localhost/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) }),
      { req: { socket: { remoteAddress: TEST_PEER_ADDRESS } } },
    );
    return { status: response.status, body: await response.json() };
  };
});
afterAll(async () => {
  await accessLog?.close();
  await db?.close();
});

const recordOf = (operation: string) =>
  db.pool.query(
    `SELECT a.id, a.purpose_key, a.subjects, a.fields_returned, a.fields_masked, a.occurred_at, c.name AS client
       FROM access_record a LEFT JOIN api_client c ON c.id = a.client_id WHERE a.operation = $1`,
    [operation],
  );
const subjectRows = (recordId: string) =>
  db.pool.query('SELECT customer_id, returned, masked, occurred_at FROM access_subject WHERE record_id = $1 ORDER BY customer_id', [
    recordId,
  ]);

/** Two Californians: one limited the use of sensitive data for marketing, one did not. */
async function californians() {
  const open = await createSubject(db, { country: 'US', region: 'CA' }, 'Open');
  const limited = await createSubject(db, { country: 'US', region: 'CA' }, 'Limited');
  const { body } = await graphql(
    `mutation { optOut(input: { subject: { id: "${limited.id}" }, purposes: ["marketing"], source: CONSENT_CENTER, sensitive: true }) { events { id } } }`,
    'consent-center',
    'consent_management',
  );
  expect(body.errors).toBeUndefined();
  return { open, limited };
}

describe('per-subject access rows', () => {
  let open: { id: string; externalId: string };
  let limited: { id: string; externalId: string };
  let operation: string;

  beforeAll(async () => {
    ({ open, limited } = await californians());
    await accessLog.flush();
    operation = `AuditSubjects${Date.now()}`;
  });

  it('are written after the response, off the request path, and by a flush', async () => {
    const { body } = await graphql(
      `query ${operation}($a: ID!, $b: ID!) {
        a: customer(id: $a) { id email street healthInterests }
        b: customer(id: $b) { id email street healthInterests }
      }`,
      'email-platform-sync',
      'marketing',
      { a: open.id, b: limited.id },
    );
    expect(body.errors).toBeUndefined();
    // The Californian who limited sensitive data has it masked; the other does not.
    expect(body.data.b.healthInterests).toBeNull();
    expect(body.data.b.email).not.toBeNull();
    // Answered, not yet written: the record waits in memory for its batch.
    expect((await recordOf(operation)).rows).toEqual([]);
    expect(accessLog.pending).toBeGreaterThan(0);
    await accessLog.flush();
    expect(accessLog.pending).toBe(0);
  });

  it('say per subject which tagged fields were returned and which masked', async () => {
    const {
      rows: [record],
    } = await recordOf(operation);
    expect(record).toMatchObject({
      purpose_key: 'marketing',
      client: 'email-platform-sync',
      subjects: 2,
      fields_returned: ['Customer.email', 'Customer.healthInterests'],
      fields_masked: 3,
    });
    const { rows } = await subjectRows(record.id);
    const bySubject = Object.fromEntries(rows.map((r) => [r.customer_id, { returned: r.returned, masked: r.masked }]));
    expect(bySubject).toEqual({
      [open.id]: { returned: ['Customer.email', 'Customer.healthInterests'], masked: ['Customer.street'] },
      [limited.id]: { returned: ['Customer.email'], masked: ['Customer.healthInterests', 'Customer.street'] },
    });
    for (const row of rows) expect(row.occurred_at).toEqual(record.occurred_at);
  });

  it('lets an admin read them by subject, newest first and paginated', async () => {
    const later = `AuditSubjectsLater${Date.now()}`;
    await graphql(`query ${later} { customer(id: "${limited.id}") { firstName phone } }`, 'analytics-app', 'analytics');
    await graphql(`query ${later} { customer(id: "${limited.id}") { firstName } }`, 'email-platform-sync', 'marketing');
    await accessLog.flush();
    const query = `query($subject: SubjectInput!, $after: String) {
      subjectAccessRecords(subject: $subject, first: 2, after: $after) {
        entries { recordId customerId clientName purpose operation fieldsReturned fieldsMasked occurredAt }
        endCursor hasMore
      }
    }`;
    const first = await graphql(query, 'schema-admin', 'consent_management', { subject: { externalId: limited.externalId } });
    expect(first.body.errors).toBeUndefined();
    const page = first.body.data.subjectAccessRecords;
    // Analytics may process her (no opt-out) but not her name; phone comes back partial: both masked.
    expect(page.entries.map((e: any) => [e.clientName, e.purpose, e.operation, e.fieldsReturned, e.fieldsMasked])).toEqual([
      ['email-platform-sync', 'marketing', later, ['Customer.firstName'], []],
      ['analytics-app', 'analytics', later, [], ['Customer.firstName', 'Customer.phone']],
    ]);
    expect(page.hasMore).toBe(true);
    expect(Date.parse(page.entries[0].occurredAt)).toBeGreaterThanOrEqual(Date.parse(page.entries[1].occurredAt));
    const second = await graphql(query, 'schema-admin', 'consent_management', {
      subject: { id: limited.id },
      after: page.endCursor,
    });
    const older = second.body.data.subjectAccessRecords.entries;
    expect(older[0]).toMatchObject({
      clientName: 'email-platform-sync',
      purpose: 'marketing',
      operation,
      fieldsReturned: ['Customer.email'],
      fieldsMasked: ['Customer.healthInterests', 'Customer.street'],
    });
  });

  it('lets an admin read them by client and by purpose, with each subject', async () => {
    const { rows: clients } = await db.pool.query("SELECT id FROM api_client WHERE name = 'email-platform-sync'");
    const { body } = await graphql(
      `query($client: ID) {
        accessRecords(clientId: $client, purpose: "marketing", first: 50) {
          entries { clientName purpose operation fieldsReturned fieldsMasked maskedValues subjectCount
                    subjects { customerId fieldsReturned fieldsMasked } }
          hasMore
        }
      }`,
      'schema-admin',
      'consent_management',
      { client: clients[0].id },
    );
    expect(body.errors).toBeUndefined();
    const entry = body.data.accessRecords.entries.find((e: any) => e.operation === operation);
    expect(entry).toMatchObject({
      clientName: 'email-platform-sync',
      purpose: 'marketing',
      fieldsReturned: ['Customer.email', 'Customer.healthInterests'],
      fieldsMasked: ['Customer.healthInterests', 'Customer.street'],
      maskedValues: 3,
      subjectCount: 2,
    });
    expect([...entry.subjects].sort((x: any, y: any) => x.customerId.localeCompare(y.customerId))).toEqual(
      [
        { customerId: open.id, fieldsReturned: ['Customer.email', 'Customer.healthInterests'], fieldsMasked: ['Customer.street'] },
        { customerId: limited.id, fieldsReturned: ['Customer.email'], fieldsMasked: ['Customer.healthInterests', 'Customer.street'] },
      ].sort((x, y) => x.customerId.localeCompare(y.customerId)),
    );
    for (const e of body.data.accessRecords.entries) expect([e.clientName, e.purpose]).toEqual(['email-platform-sync', 'marketing']);
    // The admin's own read of access records is audited in turn, under consent_management.
    await accessLog.flush();
    const { rows } = await db.pool.query(
      `SELECT s.returned FROM access_subject s JOIN access_record a ON a.id = s.record_id
        WHERE s.customer_id = $1 AND a.purpose_key = 'consent_management' ORDER BY s.occurred_at DESC LIMIT 1`,
      [limited.id],
    );
    expect(rows[0].returned).toContain('SubjectAccessRecord.fieldsReturned');
  });

  it('refuse anyone but an admin declaring consent_management, and a cursor they did not issue', async () => {
    const query = `{ subjectAccessRecords(subject: { id: "${open.id}" }) { entries { recordId } } }`;
    const byConsumer = await graphql(query, 'email-platform-sync', 'marketing');
    expect(byConsumer.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(byConsumer.body.data).toBeNull();
    const byRecorder = await graphql('{ accessRecords { entries { recordId } } }', 'consent-center', 'consent_management');
    expect(byRecorder.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const otherPurpose = await graphql(query, 'schema-admin', 'marketing');
    expect(otherPurpose.body.errors[0]).toMatchObject({
      extensions: { code: 'PURPOSE_NOT_ALLOWED', received: 'marketing', expected: 'consent_management' },
    });
    const noPurpose = await graphql(query, 'schema-admin', null);
    expect(noPurpose.body.errors[0].extensions.code).toBe('PURPOSE_REQUIRED');
    const forged = await graphql(
      `{ accessRecords(after: "${Buffer.from('not a position').toString('base64url')}") { entries { recordId } } }`,
      'schema-admin',
      'consent_management',
    );
    expect(forged.body.errors[0].extensions.code).toBe('INVALID_CURSOR');
    const tooMany = await graphql('{ accessRecords(first: 101) { entries { recordId } } }', 'schema-admin', 'consent_management');
    expect(tooMany.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('per-subject rows of notices', () => {
  it('name the notice fields a consumer got of each subject whose change it read', async () => {
    const subject = await createSubject(db, { country: 'DE' });
    // Where the feed stands now: the page read below starts after it.
    const start = await graphql(
      '{ suppressionList(purpose: "marketing", first: 1) { changesCursor } }',
      'email-platform-sync',
      'marketing',
    );
    const after = start.body.data.suppressionList.changesCursor;
    await graphql(
      `mutation { grantConsent(input: { subject: { id: "${subject.id}" }, purposes: ["marketing"], source: API, noticeVersion: "v1" }) { events { id } } }`,
      'consent-center',
      'consent_management',
    );
    const operation = `AuditFeed${Date.now()}`;
    const { body } = await graphql(
      `query ${operation}($after: String) { consentChanges(first: 100, after: $after) { changes { subject action externalId } } }`,
      'email-platform-sync',
      'marketing',
      { after },
    );
    expect(body.errors).toBeUndefined();
    await accessLog.flush();
    const {
      rows: [record],
    } = await recordOf(operation);
    const { rows } = await db.pool.query('SELECT returned, masked FROM access_subject WHERE record_id = $1 AND customer_id = $2', [
      record.id,
      subject.id,
    ]);
    // The action is the notice; the CRM id is for consent management only: masked.
    expect(rows).toEqual([{ returned: ['ConsentChange.action'], masked: ['ConsentChange.externalId'] }]);
  });
});

describe('the flush of a 1,000-subject read', () => {
  it('writes one record and 1,000 subject rows in one statement, and says how long it took', async () => {
    const operation = `AuditThousand${Date.now()}`;
    const { body } = await graphql(
      `query ${operation} { customers(first: 1000) { edges { node { id email phone city churnScore healthInterests } } } }`,
      'analytics-app',
      'analytics',
    );
    expect(body.errors).toBeUndefined();
    const returned = body.data.customers.edges.length;
    expect(returned).toBeGreaterThan(500);
    const started = performance.now();
    await accessLog.flush();
    const ms = performance.now() - started;
    const {
      rows: [record],
    } = await recordOf(operation);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM access_subject WHERE record_id = $1', [record.id]);
    expect(rows[0].n).toBe(returned);
    console.info(`access log flush: 1 record with ${returned} subject rows in ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(5_000);
  });
});

describe('a read of a subject erased before its record is written', () => {
  it('keeps the record and its count, but no row naming the subject', async () => {
    const kept = await createSubject(db, { country: 'DE' });
    const erased = await createSubject(db, { country: 'DE' });
    const operation = `AuditErased${Date.now()}`;
    accessLog.record({
      clientId: null,
      purposeKey: 'support',
      operation,
      fieldsMasked: 0,
      rowsExcluded: null,
      subjects: [kept.id, erased.id].map((subjectId) => ({ subjectId, returned: [], masked: [] })),
    });
    // What an erasure does to the customer row (src/rights/erase.ts), between the read and the flush.
    await db.pool.query('DELETE FROM customer WHERE id = $1', [erased.id]);
    await accessLog.flush();
    const {
      rows: [record],
    } = await recordOf(operation);
    expect(record.subjects).toBe(2);
    const { rows } = await subjectRows(record.id);
    expect(rows.map((r) => r.customer_id)).toEqual([kept.id]);
  });
});

describe('retention', () => {
  it('deletes records and subject rows older than the retention, in batches, and keeps the rest', async () => {
    const subject = await createSubject(db, { country: 'DE' });
    const now = new Date();
    const day = 24 * 60 * 60 * 1000;
    const ages = [400, 380, 366, 364, 1];
    const ids: string[] = [];
    for (const age of ages) {
      const at = new Date(now.getTime() - age * day).toISOString();
      const { rows } = await db.pool.query(
        `INSERT INTO access_record (purpose_key, operation, subjects, fields_masked, fields_returned, occurred_at)
         VALUES ('support', 'RetentionProbe', 1, 0, '{Customer.email}', $1::timestamp) RETURNING id::text`,
        [at],
      );
      ids.push(rows[0].id);
      await db.pool.query(
        `INSERT INTO access_subject (record_id, customer_id, returned, masked, occurred_at) VALUES ($1, $2, '{Customer.email}', '{}', $3::timestamp)`,
        [rows[0].id, subject.id, at],
      );
    }
    const retention = new AccessRetention(db, pino({ level: 'silent' }), { retentionDays: 365, batchSize: 2 });
    const result = await retention.purge(now);
    expect(result.records).toBeGreaterThanOrEqual(3);
    expect(result.subjects).toBeGreaterThanOrEqual(3);
    const { rows: kept } = await db.pool.query('SELECT id::text FROM access_record WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
    expect(kept.map((r) => r.id)).toEqual(ids.slice(3));
    const { rows: keptSubjects } = await db.pool.query(
      'SELECT record_id::text FROM access_subject WHERE customer_id = $1 ORDER BY record_id',
      [subject.id],
    );
    expect(keptSubjects.map((r) => r.record_id)).toEqual(ids.slice(3));
    expect(await retention.purge(now)).toMatchObject({ records: 0, subjects: 0 });
  });

  it('runs on a timer until stopped', async () => {
    const old = new Date(Date.now() - 10 * 24 * 60 * 60 * 1000).toISOString();
    const { rows } = await db.pool.query(
      `INSERT INTO access_record (purpose_key, subjects, fields_masked, occurred_at) VALUES ('support', 1, 0, $1::timestamp) RETURNING id`,
      [old],
    );
    const retention = new AccessRetention(db, pino({ level: 'silent' }), { retentionDays: 5, intervalMs: 50 });
    retention.start(0);
    for (let i = 0; i < 100; i++) {
      const { rowCount } = await db.pool.query('SELECT 1 FROM access_record WHERE id = $1', [rows[0].id]);
      if (rowCount === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await retention.stop();
    expect((await db.pool.query('SELECT 1 FROM access_record WHERE id = $1', [rows[0].id])).rowCount).toBe(0);
  });
});
