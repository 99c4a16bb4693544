import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';
import { customer, events, formFor, link, post, stateOf, statusOf } from './support.ts';

// "Withdraw everything I can withdraw" and the Californian's "limit the use of
// my sensitive personal information": one POST each, through the ledger.

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

const page = async (path: string) => (await app.fetch(path)).text();
const lastEventIds = async (customerId: string) =>
  (await app.db.prisma.consentEvent.findMany({ where: { customerId }, select: { id: true } })).length;

describe('withdraw everything', () => {
  it('records, in one step, a withdrawal for each consent and an opt-out for each opt-out purpose now on', async () => {
    // A Californian: marketing, analytics, personalisation and ad sharing hold until opted out; AI training needed a yes.
    const subject = await customer(app, { country: 'US', region: 'CA' });
    const start = await page(link(subject.id));
    expect((await post(app, formFor(start, 'ai_training'))).status).toBe(303);
    const before = await page(`${link(subject.id)}&lang=en`);
    expect(stateOf(before, 'ai_training')).toMatch(/^On Granted on /);
    expect(before).toContain('>Withdraw everything I can withdraw</button>');

    const form = formFor(before, 'withdraw-all');
    expect(form.get('intent')).toBe('withdraw-all');
    const response = await post(app, form);
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    expect(location).toMatch(/[?&]saved=withdraw-all&done=marketing%2Canalytics%2Cpersonalization%2Cad_sharing%2Cai_training$/);
    const recorded = await events(app, subject.id);
    expect(recorded.slice(1).map((e) => [e.purposeKey, e.action, e.source, e.regime, e.sensitive])).toEqual([
      ['marketing', 'OPT_OUT', 'CONSENT_CENTER', 'CCPA', false],
      ['analytics', 'OPT_OUT', 'CONSENT_CENTER', 'CCPA', false],
      ['personalization', 'OPT_OUT', 'CONSENT_CENTER', 'CCPA', false],
      ['ad_sharing', 'OPT_OUT', 'CONSENT_CENTER', 'CCPA', false],
      ['ai_training', 'WITHDRAW', 'CONSENT_CENTER', 'CCPA', false],
    ]);
    // One ledger request per action: the opt-outs share one idempotency key.
    const keys = await app.db.prisma.consentIdempotency.findMany({
      where: { clientId: 'consent-center-page', idempotencyKey: { startsWith: `${form.get('form')!.split('.')[0]}:` } },
      select: { idempotencyKey: true },
    });
    expect(new Set(keys.map((k) => k.idempotencyKey)).size).toBe(2);

    const after = await page(`${location}&lang=en`);
    expect(statusOf(after)).toBe(
      'Saved: you withdrew or opted out of Marketing messages, Analytics, Personalised recommendations, Sharing with advertising partners and Training AI models. Go to "Withdraw everything at once"',
    );
    for (const key of ['ai_training', 'marketing', 'analytics', 'personalization', 'ad_sharing']) {
      expect(stateOf(after, key)).toMatch(/^Off /);
    }
    expect(after).toContain('Nothing to withdraw: every purpose you can switch off is already off.');
    expect(after).toContain('<fieldset id="purpose-withdraw-all" class="saved">');

    // The same form again records nothing more.
    const count = await lastEventIds(subject.id);
    expect((await post(app, form)).status).toBe(303);
    expect(await lastEventIds(subject.id)).toBe(count);
  });

  it('for a GDPR subject, withdraws only the consents given, with the CSRF defence of every form', async () => {
    const subject = await customer(app, { country: 'DE' });
    const start = await page(link(subject.id));
    await post(app, formFor(start, 'marketing'));
    const before = await page(link(subject.id));
    const form = formFor(before, 'withdraw-all');
    const forged = new URLSearchParams(form);
    forged.set('form', 'made-up.nonce');
    expect((await post(app, forged)).status).toBe(403);
    expect((await post(app, form, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post(app, form)).status).toBe(303);
    expect((await events(app, subject.id)).map((e) => [e.purposeKey, e.action])).toEqual([
      ['marketing', 'GRANT'],
      ['marketing', 'WITHDRAW'],
    ]);
  });
});

describe('limit the use of my sensitive personal information', () => {
  it('is offered to a Californian only', async () => {
    const german = await customer(app, { country: 'DE' });
    const virginian = await customer(app, { country: 'US', region: 'VA' });
    for (const other of [german, virginian]) {
      const body = await page(link(other.id));
      expect(body).not.toContain('data-choice="limit-sensitive"');
    }
    const californian = await customer(app, { country: 'US', region: 'CA' });
    const body = await page(`${link(californian.id)}&lang=en`);
    expect(stateOf(body, 'limit-sensitive')).toBe(
      'Off Not limited: sensitive information may be used for the purposes above until you limit it',
    );
    expect(body).toContain('>Limit the use of my sensitive personal information</button>');
  });

  it('records the sensitive-scope opt-out for the purposes that use sensitive data, reflected in state and in reads', async () => {
    const subject = await customer(app, { country: 'US', region: 'CA' });
    await app.db.prisma.customer.update({ where: { id: subject.id }, data: { healthInterests: ['allergies'] } });
    const read = async () =>
      (
        await app.graphql(`{ customer(id: "${subject.id}") { healthInterests } }`, {
          client: 'email-platform-sync',
          purpose: 'marketing',
        })
      ).body.data.customer.healthInterests;
    expect(await read()).toEqual(['allergies']);

    const form = formFor(await page(link(subject.id)), 'limit-sensitive');
    expect(form.get('intent')).toBe('limit-sensitive');
    const response = await post(app, form);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/saved=limit-sensitive$/);
    expect((await events(app, subject.id)).map((e) => [e.purposeKey, e.action, e.sensitive, e.regime, e.source])).toEqual([
      ['marketing', 'OPT_OUT', true, 'CCPA', 'CONSENT_CENTER'],
      ['analytics', 'OPT_OUT', true, 'CCPA', 'CONSENT_CENTER'],
      ['personalization', 'OPT_OUT', true, 'CCPA', 'CONSENT_CENTER'],
      ['ad_sharing', 'OPT_OUT', true, 'CCPA', 'CONSENT_CENTER'],
    ]);
    // The ordinary choices are untouched; the sensitive data is masked from the next read.
    const after = await page(`${response.headers.get('location')!}&lang=en`);
    expect(stateOf(after, 'marketing')).toBe('On Allowed by default until you opt out');
    expect(stateOf(after, 'limit-sensitive')).toMatch(/^On Limited on \d{1,2} \w+ \d{4}: used only where needed to serve you$/);
    expect(statusOf(after)).toBe(
      'Saved: the use of your sensitive personal information is now limited. Go to "Limit the use of my sensitive personal information"',
    );
    expect(await read()).toBeNull();

    // And back: an opt-in of the same scope.
    const undo = formFor(after, 'limit-sensitive');
    expect(undo.get('intent')).toBe('allow-sensitive');
    expect((await post(app, undo)).status).toBe(303);
    expect((await events(app, subject.id)).slice(4).map((e) => [e.action, e.sensitive, e.noticeVersion])).toEqual([
      ['OPT_IN', true, 'notice-v1'],
      ['OPT_IN', true, 'notice-v1'],
      ['OPT_IN', true, 'notice-v1'],
      ['OPT_IN', true, 'notice-v1'],
    ]);
    expect(await read()).toEqual(['allergies']);
  });

  it('refuses the form for someone it does not apply to, and an unknown intent', async () => {
    const californian = await customer(app, { country: 'US', region: 'CA' });
    const form = formFor(await page(link(californian.id)), 'limit-sensitive');
    // The same form fields, signed for a German subject: the right does not apply there.
    const german = await customer(app, { country: 'DE' });
    const germanForm = formFor(await page(link(german.id)), 'marketing');
    germanForm.delete('purpose');
    germanForm.delete('action');
    germanForm.set('intent', 'limit-sensitive');
    expect((await post(app, germanForm)).status).toBe(403);
    form.set('intent', 'delete-everything');
    expect((await post(app, form)).status).toBe(403);
    expect(await events(app, german.id)).toEqual([]);
    expect(await events(app, californian.id)).toEqual([]);
  });
});

describe('focus and announcements after a save', () => {
  it('marks the status message as the live region that takes focus, names the saved control, and links to it', async () => {
    const subject = await customer(app, { country: 'DE' });
    const response = await post(app, formFor(await page(link(subject.id)), 'analytics'));
    const after = await page(`${response.headers.get('location')!}&lang=en`);
    expect(after).toMatch(/<div id="status" class="status" role="status" aria-live="polite" tabindex="-1" data-focus="true">/);
    expect(statusOf(after)).toBe('Saved: "Analytics" is now on. Go to "Analytics"');
    expect(after).toContain('<a href="#purpose-analytics">Go to &quot;Analytics&quot;</a>');
    expect(after).toContain('<fieldset id="purpose-analytics" class="saved">');
    // Without a save, the region is there (empty) and does not take focus.
    const plain = await page(link(subject.id));
    expect(plain).toMatch(/<div id="status" class="status" role="status" aria-live="polite" tabindex="-1" data-focus="false"><\/div>/);
    expect(plain).toContain('<a class="skip" href="#choices">');
  });
});
