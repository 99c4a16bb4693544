import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestApp, testMasker, type TestApp } from '../support/app.ts';
import { startReceiver, type Receiver } from '../propagation/support.ts';
import { eventLine, importLines, ndjson, outboxOf } from './import-support.ts';
import { createSubject, WITHDRAW } from './support.ts';

// An imported change reaches downstream systems like any other: an outbox row
// with the ledger's payload (the extracts holding the subject for a
// withdrawal), the feed, webhooks, and this process's commit signal.

let app: TestApp;
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  app = await createTestApp({ env: { CONSENTQL_IMPORT_BATCH_SIZE: '2' }, propagation: { allowHosts: ['127.0.0.1'], pollIntervalMs: 100 } });
});
afterAll(async () => {
  await app.close();
  await receiver.close();
});

const FEED = `query($after: String) {
  consentChanges(after: $after, first: 1000) { endCursor changes { cursor subject purpose action recordedAt } }
}`;

async function feedEnd(): Promise<string> {
  const { rows } = await app.db.pool.query(`SELECT coalesce(max(id), 0)::text AS id FROM outbox_event`);
  return rows[0].id;
}

async function extractHolding(customerId: string, purpose: string): Promise<string> {
  const { rows } = await app.db.pool.query(
    `INSERT INTO extract (purpose_key, purpose_version, policy_version, snapshot_at, format, fields, status)
     VALUES ($1, 1, 'test', now(), 'ndjson', '{}', 'COMPLETE') RETURNING id::text`,
    [purpose],
  );
  await app.db.pool.query(`INSERT INTO extract_member (customer_id, extract_id) VALUES ($1, $2)`, [customerId, rows[0].id]);
  return rows[0].id;
}

describe('propagating imported changes', () => {
  it('queues the ledger payload, with the extracts that hold the subject for a withdrawal, and the feed shows it', async () => {
    const imported = await createSubject(app.db, { country: 'DE' });
    const live = await createSubject(app.db, { country: 'DE' });
    const extracts = [await extractHolding(imported.id, 'marketing'), await extractHolding(imported.id, 'marketing')];
    await extractHolding(imported.id, 'analytics'); // another purpose's: not this change's business
    await extractHolding(live.id, 'marketing');
    const cursor = await feedEnd();
    let signalled: bigint | null = null;
    const stop = app.db.signals.outboxCommitted.on((id) => {
      signalled = id;
    });

    const { body } = await importLines(
      app,
      ndjson([
        eventLine({ id: imported.id }, { recordedAt: '2025-01-10T09:00:00Z' }),
        eventLine({ id: imported.id }, { action: 'WITHDRAW', noticeVersion: null, recordedAt: '2025-02-10T09:00:00Z' }),
        eventLine({ id: imported.id }, { purpose: 'analytics', recordedAt: '2025-02-11T09:00:00Z' }),
      ]),
    );
    stop();
    expect(body).toMatchObject({ recorded: 3, propagated: 2, rejected: 0 });
    const outbox = await outboxOf(app, imported.id);
    expect(outbox.map((o) => [o.payload.purpose, o.payload.action, o.payload.recordedAt])).toEqual([
      ['marketing', 'WITHDRAW', '2025-02-10T09:00:00.000Z'],
      ['analytics', 'GRANT', '2025-02-11T09:00:00.000Z'],
    ]);
    expect(outbox[0].payload.extracts).toEqual(extracts);
    expect(outbox[1].payload.extracts).toEqual([]);
    expect(signalled).toBe(BigInt(outbox[1].id));

    // The same payload as a change recorded live, but for its values.
    const recorded = await app.graphql(WITHDRAW, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: { input: { subject: { id: live.id }, purposes: ['marketing'], source: 'CRM' } },
    });
    expect(recorded.body.errors).toBeUndefined();
    const [liveChange] = await outboxOf(app, live.id);
    expect(Object.keys(outbox[0].payload).sort()).toEqual(Object.keys(liveChange.payload).sort());

    const feed = await app.graphql(FEED, { client: 'email-platform-sync', purpose: 'marketing', variables: { after: cursor } });
    const subject = testMasker().pseudonym(imported.id, 'marketing');
    expect(feed.body.data.consentChanges.changes.filter((c: any) => c.subject === subject)).toEqual([
      { cursor: outbox[0].id, subject, purpose: 'marketing', action: 'WITHDRAW', recordedAt: '2025-02-10T09:00:00.000Z' },
    ]);
  });

  it('delivers an imported withdrawal to the purpose webhook', async () => {
    const created = await app.graphql(
      `mutation($url: String!) { createWebhookSubscription(url: $url, purposes: ["marketing"]) { subscription { id } } }`,
      { client: 'schema-admin', variables: { url: receiver.url } },
    );
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data.createWebhookSubscription.subscription.id;
    onTestFinished(async () => {
      await app.graphql(`mutation($id: ID!) { deactivateWebhookSubscription(id: $id) { active } }`, {
        client: 'schema-admin',
        variables: { id },
      });
    });
    const subject = await createSubject(app.db, { country: 'FR' });
    const { body } = await importLines(
      app,
      ndjson([
        eventLine({ id: subject.id }, { action: 'WITHDRAW', noticeVersion: null, proof: undefined, recordedAt: '2025-05-05T05:05:05Z' }),
      ]),
    );
    expect(body.propagated).toBe(1);
    const pseudonym = testMasker().pseudonym(subject.id, 'marketing');
    const hook = await receiver.waitFor((h) => h.json.data?.subject === pseudonym);
    expect(hook.json.data).toMatchObject({
      subject: pseudonym,
      purpose: 'marketing',
      action: 'WITHDRAW',
      recordedAt: '2025-05-05T05:05:05.000Z',
    });
  });
});
