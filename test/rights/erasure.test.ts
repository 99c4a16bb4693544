import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erasureSubjectHash } from '../../src/rights/proof.ts';
import { createTestApp, keyOf, type TestApp, testConfig, testMasker } from '../support/app.ts';
import { GRANT } from '../consent/support.ts';
import { readEvents, startReceiver, type Receiver } from '../propagation/support.ts';
import { isolatedDatabase } from '../support/scratch.ts';
import { ndjsonRows, requestExtract } from '../extracts/support.ts';
import { accessLogSettled, createFullSubject, ERASE, EXPORT, rowsNaming, type FullSubject, shareRecords } from './support.ts';

// Erasure (GDPR Art. 17) over HTTP: everything of the subject goes in one
// transaction, a proof stays, every purpose's consumers are told (feed,
// suppression list, webhooks) by pseudonym and with the extracts holding the
// subject, and from then on the subject is absent everywhere.

let app: TestApp;
let receiver: Receiver;
let secret: string;
let subscriptionId: string;

const masker = testMasker();
const proofKey = testConfig().keys.proof;
const asAdmin = { client: 'schema-admin' };

let database: Awaited<ReturnType<typeof isolatedDatabase>>;

beforeAll(async () => {
  // On PostgreSQL, a database of this file's own: another file's reads and extracts would name these subjects
  // (an access record written after the erasure, an extract holding them) while the tests count their rows.
  database = await isolatedDatabase('rights_erasure');
  receiver = await startReceiver();
  app = await createTestApp({
    databaseUrl: database.url,
    propagation: { retrySchedule: [200, 400], timeoutMs: 2000, pollIntervalMs: 200, concurrency: 8, allowHosts: ['127.0.0.1'] },
  });
  const created = await app.graphql(
    `mutation($url: String!) { createWebhookSubscription(url: $url, purposes: ["marketing", "ai_training"], description: "ml pipeline") { secret subscription { id } } }`,
    { ...asAdmin, variables: { url: receiver.url } },
  );
  expect(created.body.errors).toBeUndefined();
  secret = created.body.data.createWebhookSubscription.secret;
  subscriptionId = created.body.data.createWebhookSubscription.subscription.id;
});
afterAll(async () => {
  await app.graphql(`mutation($id: ID!) { deactivateWebhookSubscription(id: $id) { active } }`, {
    ...asAdmin,
    variables: { id: subscriptionId },
  });
  await receiver.close();
  await app.close();
  await database.drop();
});

const FEED = `query($after: String, $purposes: [String!]) {
  consentChanges(after: $after, first: 1000, purposes: $purposes) {
    endCursor hasMore changes { cursor subject purpose action erased extracts customerId externalId eventId regime source }
  }
}`;

/** Every change of the feed after `after` that the client sees, following hasMore. */
async function feed(client: string, purpose: string, after: string | null = null, purposes?: string[]) {
  const changes: any[] = [];
  let cursor = after;
  for (;;) {
    const page = await app.graphql(FEED, { client, purpose, variables: { after: cursor, purposes } });
    expect(page.body.errors).toBeUndefined();
    changes.push(...page.body.data.consentChanges.changes);
    cursor = page.body.data.consentChanges.endCursor;
    if (!page.body.data.consentChanges.hasMore) return { changes, endCursor: String(cursor) };
  }
}

async function erase(subject: Record<string, string>, options: Record<string, unknown> = asAdmin) {
  return app.graphql(ERASE, { ...options, variables: { subject } });
}

async function erasureRow(customerId: string) {
  const { rows } = await app.db.pool.query(
    `SELECT id::text, subject_hash, customer_id::text, status::text, source, completed_at FROM erasure WHERE subject_hash = $1`,
    [erasureSubjectHash(customerId, proofKey)],
  );
  return rows[0];
}

const pseudonym = (id: string, purpose: string) => masker.pseudonym(id, purpose);

describe('eraseSubject', () => {
  let subject: FullSubject;
  let other: FullSubject;
  let feedBefore: string;
  let receipt: any;
  let otherBefore: Record<string, number>;

  beforeAll(async () => {
    subject = await createFullSubject(app);
    other = await createFullSubject(app);
    await app.db.prisma.customer.update({ where: { id: subject.id }, data: { segment: `erasure-${subject.id.slice(0, 8)}` } });
    // The other subject shares the access record and the marketing extract.
    await shareRecords(app.db, subject, other);
    const before = await rowsNaming(app.db, subject.id);
    // Every table holds something of the subject, so that "nothing left" below means something.
    for (const [table, n] of Object.entries(before)) if (table !== 'outbox_payloads') expect(n, table).toBeGreaterThan(0);
    otherBefore = await rowsNaming(app.db, other.id);
    // The feed shows the subject's earlier changes to the email platform, before the erasure.
    const earlier = await feed('email-platform-sync', 'marketing');
    expect(earlier.changes.filter((c) => c.subject === pseudonym(subject.id, 'marketing'))).toHaveLength(1);
    feedBefore = earlier.endCursor;
    const listed = await app.graphql(`query($s: String) { customers(first: 10, filter: { segment: $s }) { totalCount } }`, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { s: `erasure-${subject.id.slice(0, 8)}` },
    });
    expect(listed.body.data.customers.totalCount).toBe(1);
    await accessLogSettled(app.db, subject.id);

    const result = await erase({ externalId: subject.externalId });
    expect(result.body.errors).toBeUndefined();
    receipt = result.body.data.eraseSubject;
  });

  it('answers with the proof: a keyed hash of the subject, the time, who asked', () => {
    expect(receipt).toEqual({
      id: expect.stringMatching(/^\d+$/),
      subjectHash: erasureSubjectHash(subject.id, proofKey),
      status: 'DONE',
      source: 'admin client schema-admin',
      requestedAt: expect.any(String),
      completedAt: expect.any(String),
      alreadyErased: false,
      notices: 5,
    });
    expect(receipt.subjectHash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
  });

  it('leaves no row naming the subject in any table, and only the proof in erasure', async () => {
    const after = await rowsNaming(app.db, subject.id);
    expect(
      Object.values(after).every((n) => n === 0),
      JSON.stringify(after),
    ).toBe(true);
    // The shared access record stays, naming the other subject only.
    const record = await app.db.pool.query('SELECT customer_id FROM access_subject WHERE record_id = $1::bigint', [subject.accessRecordId]);
    expect(record.rows.map((r) => r.customer_id)).toEqual([other.id]);
    const proof = await erasureRow(subject.id);
    expect(proof).toMatchObject({ id: receipt.id, customer_id: null, status: 'DONE', source: 'admin client schema-admin' });
    expect(proof.completed_at).not.toBeNull();
    // Nothing else the subject was known by survives anywhere in the outbox.
    const leftovers = await app.db.pool.query(
      `SELECT count(*)::int AS n FROM outbox_event WHERE payload::text LIKE ANY (ARRAY[$1, $2, $3])`,
      [`%${subject.externalId}%`, `%${subject.email}%`, `%${subject.id}%`],
    );
    expect(leftovers.rows[0].n).toBe(0);
    // The other subject keeps everything (reads since, of the feed among them, may have added to its access records).
    const otherAfter = await rowsNaming(app.db, other.id);
    for (const [table, n] of Object.entries(otherBefore)) {
      if (table.startsWith('access_')) expect(otherAfter[table], table).toBeGreaterThanOrEqual(n);
      else expect(otherAfter[table], table).toBe(n);
    }
  });

  it('tells each purpose’s feed readers by their pseudonym, with their extracts, and drops the earlier changes', async () => {
    const marketing = await feed('email-platform-sync', 'marketing');
    const mine = marketing.changes.filter((c) => c.subject === pseudonym(subject.id, 'marketing'));
    // The earlier grant is gone from the feed: only the erasure notice names the subject.
    expect(mine).toEqual([
      {
        cursor: expect.any(String),
        subject: pseudonym(subject.id, 'marketing'),
        purpose: 'marketing',
        action: 'WITHDRAW',
        erased: true,
        extracts: [subject.extractIds.marketing],
        customerId: null,
        externalId: null,
        eventId: null,
        regime: null,
        source: null,
      },
    ]);
    expect(BigInt(mine[0].cursor)).toBeGreaterThan(BigInt(feedBefore));
    const training = await feed('churn-model-training', 'ai_training', feedBefore);
    expect(training.changes.filter((c) => c.subject === pseudonym(subject.id, 'ai_training'))).toEqual([
      expect.objectContaining({ purpose: 'ai_training', action: 'WITHDRAW', erased: true, extracts: [subject.extractIds.aiTraining] }),
    ]);
    // The analytics app never received the subject (no consent in Germany): it is not handed a pseudonym now.
    const analytics = await feed('analytics-app', 'analytics', feedBefore);
    expect(analytics.changes.filter((c) => c.subject === pseudonym(subject.id, 'analytics'))).toEqual([]);
    // Consent management sees one notice per purpose whose consumers may hold the subject, by its own
    // pseudonym, and no id: those the subject chose about or is in an extract of, and those needing no
    // consent; analytics, personalization and ad_sharing (opt-in in Germany, never chosen) never had them.
    const all = await feed('schema-admin', 'consent_management', feedBefore);
    const notices = all.changes.filter((c) => c.subject === pseudonym(subject.id, 'consent_management'));
    expect(notices.map((c) => c.purpose).sort()).toEqual(['ai_training', 'consent_management', 'marketing', 'support', 'transactional']);
    expect(notices.every((c) => c.erased && c.customerId === null && c.externalId === null)).toBe(true);
    expect(notices.find((c) => c.purpose === 'support').extracts).toEqual([]);
  });

  it('lists the subject as SUPPRESSED (ERASED) in the suppression list’s changes', async () => {
    const result = await app.graphql(
      `query($after: String) { suppressionList(purpose: "marketing", changesAfter: $after, first: 1000) { entries { subject status emailSha256 } } }`,
      { client: 'email-platform-sync', purpose: 'marketing', variables: { after: feedBefore } },
    );
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data.suppressionList.entries).toContainEqual({
      subject: pseudonym(subject.id, 'marketing'),
      status: 'SUPPRESSED',
      emailSha256: null,
    });
  });

  it('sends signed webhooks that a consumer tells from a withdrawal, with the extract ids', async () => {
    for (const [purpose, extract] of [
      ['marketing', subject.extractIds.marketing],
      ['ai_training', subject.extractIds.aiTraining],
    ]) {
      const hook = await receiver.waitFor((h) => h.json.data?.subject === pseudonym(subject.id, purpose) && h.json.data.erased === true);
      const verified = new Webhook(secret).verify(hook.body, hook.headers) as any;
      expect(verified.data).toEqual({
        subject: pseudonym(subject.id, purpose),
        purpose,
        purposeVersion: 1,
        action: 'WITHDRAW',
        recordedAt: receipt.completedAt,
        erased: true,
        extracts: [extract],
      });
      expect(hook.body).not.toContain(subject.id);
    }
  });

  it('then treats the subject as absent: reads, lists, exports and consent writes', async () => {
    const read = await app.graphql(`query($id: ID!) { customer(id: $id) { id } }`, {
      client: 'support-chatbot',
      purpose: 'support',
      variables: { id: subject.id },
    });
    expect(read.body).toMatchObject({ data: { customer: null } });
    const listed = await app.graphql(`query($s: String) { customers(first: 10, filter: { segment: $s }) { totalCount } }`, {
      client: 'email-platform-sync',
      purpose: 'marketing',
      variables: { s: `erasure-${subject.id.slice(0, 8)}` },
    });
    expect(listed.body.data.customers.totalCount).toBe(0);

    for (const ref of [{ id: subject.id }, { externalId: subject.externalId }]) {
      const write = await app.graphql(GRANT, {
        client: 'consent-center',
        purpose: 'consent_management',
        variables: { input: { subject: ref, purposes: ['marketing'], source: 'API', noticeVersion: 'v8' } },
      });
      expect(write.status).toBe(404);
      expect(write.body.errors[0].extensions.code).toBe('NOT_FOUND');
      expect(write.body.errors[0].message).toContain('an erased one is not');
    }
    const exported = await app.graphql(EXPORT, {
      client: 'schema-admin',
      purpose: 'consent_management',
      variables: { subject: { id: subject.id } },
    });
    expect(exported.body.errors[0]).toMatchObject({
      message: expect.stringContaining(`Customer ${subject.id} was erased (on ${receipt.completedAt})`),
      extensions: { code: 'NOT_FOUND', erasure: receipt.id },
    });
    const proof = await app.graphql(`query($id: ID!) { erasure(customerId: $id) { id subjectHash status completedAt } }`, {
      ...asAdmin,
      variables: { id: subject.id },
    });
    expect(proof.body.data.erasure).toEqual({
      id: receipt.id,
      subjectHash: receipt.subjectHash,
      status: 'DONE',
      completedAt: receipt.completedAt,
    });
    const never = await app.graphql(`query($id: ID!) { erasure(customerId: $id) { id } }`, { ...asAdmin, variables: { id: other.id } });
    expect(never.body.data.erasure).toBeNull();
  });

  it('is idempotent: erasing again answers with the same proof, sends nothing and changes nothing', async () => {
    const notices = () =>
      app.db.pool
        .query(`SELECT count(*)::int AS n FROM outbox_event WHERE payload->'subjectKeys'->>'marketing' = $1`, [
          pseudonym(subject.id, 'marketing'),
        ])
        .then((r) => r.rows[0].n);
    expect(await notices()).toBe(1);
    const again = await erase({ id: subject.id });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.eraseSubject).toEqual({ ...receipt, alreadyErased: true, notices: 0 });
    expect(await notices()).toBe(1);
    // The CRM id went with the subject: by it, the subject is not found (and the message says how to check).
    const byCrmId = await erase({ externalId: subject.externalId });
    expect(byCrmId.body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(byCrmId.body.errors[0].message).toContain('ask by the customer id');
  });
});

describe('eraseSubject refusals', () => {
  it('refuses non-admins with coded errors and leaves the subject intact', async () => {
    const subject = await createFullSubject(app);
    const before = await rowsNaming(app.db, subject.id);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ client: 'consent-center', purpose: 'consent_management' }, 403, 'FORBIDDEN'],
      [{ client: 'email-platform-sync', purpose: 'marketing' }, 403, 'FORBIDDEN'],
      [{}, 401, 'UNAUTHENTICATED'],
    ];
    for (const [options, status, code] of cases) {
      const result = await erase({ id: subject.id }, options);
      expect([result.status, result.body.errors[0].extensions.code]).toEqual([status, code]);
      expect(result.body.data?.eraseSubject ?? null).toBeNull();
    }
    const proof = await app.graphql(`query($id: ID!) { erasure(customerId: $id) { id } }`, {
      client: 'consent-center',
      variables: { id: subject.id },
    });
    expect(proof.body.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(await rowsNaming(app.db, subject.id)).toEqual(before);
    expect(await erasureRow(subject.id)).toBeUndefined();
  });

  it('says what it expects for a malformed or unknown subject', async () => {
    const both = await erase({ id: randomUUID(), externalId: 'CRM-1' });
    expect(both.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const malformed = await erase({ id: 'not-a-uuid' });
    expect(malformed.body.errors[0]).toMatchObject({
      message: 'subject.id expects a customer UUID, but got "not-a-uuid".',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const unknown = await erase({ id: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });
});

describe('erasure and extracts', () => {
  it('names the extracts made through POST /extracts in the notice, and later extracts do not hold the subject', async () => {
    const subject = await createFullSubject(app);
    const key = pseudonym(subject.id, 'marketing');
    const mailer = { client: 'email-platform-sync', purpose: 'marketing' };
    const body = { fields: ['Customer.segment'], format: 'ndjson' };
    const before = await requestExtract(app, body, mailer);
    expect(before.status).toBe(200);
    expect(ndjsonRows(before.bytes).some((r) => r.subject === key)).toBe(true);
    await accessLogSettled(app.db, subject.id);
    const cursor = (await feed('email-platform-sync', 'marketing')).endCursor;

    // A live subscriber of the purpose gets the same notice over server-sent events.
    const abort = new AbortController();
    const live = await app.fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${keyOf('email-platform-sync')}`,
        'x-purpose': 'marketing',
      },
      body: JSON.stringify({ query: 'subscription { consentChanged { subject action erased extracts customerId } }' }),
      signal: abort.signal,
    });
    const stream = readEvents(live, abort);

    const erased = await erase({ id: subject.id });
    expect(erased.body.errors).toBeUndefined();
    const pushed = await stream.next();
    stream.close();
    expect(pushed.errors).toBeUndefined();
    expect(pushed.data.consentChanged).toEqual({
      subject: key,
      action: 'WITHDRAW',
      erased: true,
      extracts: [subject.extractIds.marketing, before.id].sort((a, b) => Number(a) - Number(b)),
      customerId: null,
    });
    const notice = (await feed('email-platform-sync', 'marketing', cursor)).changes.filter((c) => c.subject === key);
    expect(notice).toEqual([
      expect.objectContaining({ erased: true, extracts: [subject.extractIds.marketing, before.id].sort((a, b) => Number(a) - Number(b)) }),
    ]);

    const after = await requestExtract(app, body, mailer);
    expect(after.status).toBe(200);
    expect(ndjsonRows(after.bytes).some((r) => r.subject === key)).toBe(false);
    expect(after.bytes.toString('utf8')).not.toContain(subject.id);
    expect((await rowsNaming(app.db, subject.id)).extract_member).toBe(0);
  });
});
