import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createSubject, GRANT } from './support.ts';

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const GPC = `mutation($s: SubjectInput!) { honourGlobalPrivacyControl(subject: $s) { honoured reason eventId } }`;
const gpcHeaders = { 'sec-gpc': '1' };

async function gpcEvents(customerId: string) {
  return app.db.prisma.consentEvent.findMany({
    where: { customerId, source: 'GPC' },
    select: { purposeKey: true, action: true, regime: true },
  });
}

describe('Global Privacy Control (Sec-GPC: 1)', () => {
  it('records an opt-out of ad_sharing for a Californian, once', async () => {
    const subject = await createSubject(app.db, { country: 'US', region: 'CA' });
    const first = await app.graphql(GRANT, {
      client: 'consent-center',
      purpose: 'consent_management',
      headers: gpcHeaders,
      variables: { input: { subject: { id: subject.id }, purposes: ['marketing'], source: 'CONSENT_CENTER', noticeVersion: 'v1' } },
    });
    expect(first.body.data.grantConsent.gpc).toMatchObject({ honoured: true, reason: 'RECORDED' });
    const again = await app.graphql(GPC, {
      client: 'consent-center',
      purpose: 'consent_management',
      headers: gpcHeaders,
      variables: { s: { id: subject.id } },
    });
    expect(again.body.data.honourGlobalPrivacyControl).toEqual({ honoured: true, reason: 'ALREADY_OPTED_OUT', eventId: null });
    expect(await gpcEvents(subject.id)).toEqual([{ purposeKey: 'ad_sharing', action: 'OPT_OUT', regime: 'CCPA' }]);
    const state = await app.db.prisma.consentState.findFirst({ where: { customerId: subject.id, purposeKey: 'ad_sharing' } });
    expect(state).toMatchObject({ action: 'OPT_OUT', source: 'GPC', regime: 'CCPA' });
  });

  it('records it in a US state with a universal opt-out law (Texas), not where no law requires it', async () => {
    const texan = await createSubject(app.db, { country: 'US', region: 'TX' });
    const texas = await app.graphql(GPC, {
      client: 'consent-center',
      purpose: 'consent_management',
      headers: gpcHeaders,
      variables: { s: { id: texan.id } },
    });
    expect(texas.body.data.honourGlobalPrivacyControl).toMatchObject({ honoured: true, reason: 'RECORDED' });
    expect(await gpcEvents(texan.id)).toEqual([{ purposeKey: 'ad_sharing', action: 'OPT_OUT', regime: 'US_STATE' }]);

    for (const place of [{ country: 'DE' }, { country: 'US', region: 'FL' }]) {
      const other = await createSubject(app.db, place);
      const result = await app.graphql(GPC, {
        client: 'consent-center',
        purpose: 'consent_management',
        headers: gpcHeaders,
        variables: { s: { id: other.id } },
      });
      expect(result.body.data.honourGlobalPrivacyControl).toEqual({ honoured: false, reason: 'NOT_REQUIRED_FOR_RESIDENCE', eventId: null });
      expect(await gpcEvents(other.id)).toEqual([]);
    }
  });

  it('does nothing without the header', async () => {
    const subject = await createSubject(app.db, { country: 'US', region: 'CA' });
    const result = await app.graphql(GPC, {
      client: 'consent-center',
      purpose: 'consent_management',
      variables: { s: { id: subject.id } },
    });
    expect(result.body.data.honourGlobalPrivacyControl).toEqual({ honoured: false, reason: 'NO_SIGNAL', eventId: null });
    expect(await gpcEvents(subject.id)).toEqual([]);
  });
});
