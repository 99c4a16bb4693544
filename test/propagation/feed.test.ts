import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createSubject, GRANT, OPT_OUT, WITHDRAW } from '../consent/support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const FEED = `query($after: String, $purposes: [String!]) {
  consentChanges(after: $after, first: 1000, purposes: $purposes) { endCursor hasMore changes { cursor customerId purpose action source } }
}`;
const SUPPRESSION = `query($after: String, $changesAfter: String) {
  suppressionList(purpose: "marketing", first: 1000, after: $after, changesAfter: $changesAfter) {
    endCursor hasMore changesCursor entries { customerId externalId emailSha256 status reason contactableUntil }
  }
}`;

const choose = (query: string, customerId: string, extra: Record<string, unknown> = {}) =>
  app.graphql(query, {
    client: 'consent-center',
    variables: { input: { subject: { id: customerId }, purposes: ['marketing'], source: 'CRM', noticeVersion: 'v1', ...extra } },
  });

describe('change feed', () => {
  it('returns exactly the changes since a cursor, in commit order', async () => {
    const start = await app.graphql(FEED, { client: 'email-platform-sync', variables: { purposes: ['marketing'] } });
    // Page to the end to find the current cursor.
    let cursor: string = start.body.data.consentChanges.endCursor;
    for (let more = start.body.data.consentChanges.hasMore; more; ) {
      const page = await app.graphql(FEED, { client: 'email-platform-sync', variables: { after: cursor } });
      cursor = page.body.data.consentChanges.endCursor;
      more = page.body.data.consentChanges.hasMore;
    }
    const a = await createSubject(app.db, { country: 'DE' });
    const b = await createSubject(app.db, { country: 'US', region: 'CA' });
    await choose(GRANT, a.id);
    await choose(OPT_OUT, b.id, { noticeVersion: null });
    await choose(WITHDRAW, a.id, { noticeVersion: null });

    const since = await app.graphql(FEED, { client: 'email-platform-sync', variables: { after: cursor } });
    const changes = since.body.data.consentChanges.changes;
    // Other test files write to the same database: ours must be exactly these, in this order.
    const ours = changes.filter((c: any) => c.customerId === a.id || c.customerId === b.id);
    expect(ours.map((c: any) => [c.customerId, c.action])).toEqual([
      [a.id, 'GRANT'],
      [b.id, 'OPT_OUT'],
      [a.id, 'WITHDRAW'],
    ]);
    expect(changes.every((c: any) => BigInt(c.cursor) > BigInt(cursor) && c.purpose === 'marketing')).toBe(true);
    const nothingNew = await app.graphql(FEED, { client: 'email-platform-sync', variables: { after: since.body.data.consentChanges.endCursor } });
    expect(nothingNew.body.data.consentChanges.changes.filter((c: any) => c.customerId === a.id || c.customerId === b.id)).toEqual([]);
  });

  it('shows a consuming app only the purposes it is registered for', async () => {
    const refused = await app.graphql(FEED, { client: 'email-platform-sync', variables: { purposes: ['analytics'] } });
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'PURPOSE_NOT_ALLOWED', allowedPurposes: ['marketing'] });
    const own = await app.graphql(FEED, { client: 'email-platform-sync', variables: {} });
    expect(own.body.data.consentChanges.changes.every((c: any) => c.purpose === 'marketing')).toBe(true);
    const bad = await app.graphql(FEED, { client: 'email-platform-sync', variables: { after: 'yesterday' } });
    expect(bad.body.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(bad.body.errors[0].message).toMatch(/after expects a cursor returned by this feed/);
  });
});

describe('suppression list for marketing', () => {
  it('snapshots who must not be contacted, then returns exactly the subjects changed since', async () => {
    const optedIn = await createSubject(app.db, { country: 'DE' });
    const silent = await createSubject(app.db, { country: 'DE' });
    const californian = await createSubject(app.db, { country: 'US', region: 'CA' });
    await choose(GRANT, optedIn.id, { expiresAt: '2099-01-01T00:00:00Z' });

    const snapshot: any[] = [];
    let after: string | null = null;
    let changesCursor: string | undefined;
    do {
      const page: any = await app.graphql(SUPPRESSION, { client: 'email-platform-sync', variables: { after } });
      expect(page.body.errors).toBeUndefined();
      snapshot.push(...page.body.data.suppressionList.entries);
      changesCursor ??= page.body.data.suppressionList.changesCursor;
      after = page.body.data.suppressionList.hasMore ? page.body.data.suppressionList.endCursor : null;
    } while (after);
    const ids = new Set(snapshot.map((e) => e.customerId));
    expect(ids.has(silent.id)).toBe(true); // GDPR: no consent, no marketing
    expect(ids.has(optedIn.id)).toBe(false);
    expect(ids.has(californian.id)).toBe(false); // CCPA: allowed until opting out
    expect(snapshot.find((e) => e.customerId === silent.id)).toMatchObject({ status: 'SUPPRESSED', reason: 'NO_CONSENT' });
    expect(snapshot.every((e) => /^[0-9a-f]{64}$/.test(e.emailSha256) && !('email' in e))).toBe(true);

    await choose(WITHDRAW, optedIn.id, { noticeVersion: null });
    await choose(OPT_OUT, californian.id, { noticeVersion: null });
    await choose(GRANT, silent.id);
    const delta = await app.graphql(SUPPRESSION, { client: 'email-platform-sync', variables: { changesAfter: changesCursor } });
    const mine = delta.body.data.suppressionList.entries.filter((e: any) => [optedIn.id, silent.id, californian.id].includes(e.customerId));
    expect(mine.map((e: any) => [e.customerId, e.status, e.reason])).toEqual([
      [optedIn.id, 'SUPPRESSED', 'WITHDRAWN'],
      [californian.id, 'SUPPRESSED', 'OPTED_OUT'],
      [silent.id, 'CONTACTABLE', null],
    ]);
    const next = await app.graphql(SUPPRESSION, {
      client: 'email-platform-sync',
      variables: { changesAfter: delta.body.data.suppressionList.changesCursor },
    });
    expect(next.body.data.suppressionList.entries.filter((e: any) => [optedIn.id, silent.id, californian.id].includes(e.customerId))).toEqual([]);
  });
});
