import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createTestApp, type TestApp } from '../support/app.ts';
import { parseHmacKeys } from '../../src/masking/keyring.ts';
import { createFormToken, createLinkToken, linkExpiry } from '../../src/web/links.ts';

// The consent center through Yoga's real HTTP handling. Writes go to
// customers made here, so the seeded personas stay as test/api expects them.

let app: TestApp;
const keyring = parseHmacKeys(undefined, { production: false });
const link = (customerId: string, expiresAt = linkExpiry(new Date(), 1)) =>
  `/consent-center?token=${createLinkToken(keyring, customerId, expiresAt)}`;

beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

async function customer(place: { country: string | null; region?: string | null }, firstName = 'Ada') {
  const tag = randomUUID();
  return app.db.prisma.customer.create({
    data: {
      externalId: `TEST-CC-${tag}`,
      email: `${tag}@consentql.test`,
      firstName,
      lastName: 'Subject',
      country: place.country,
      region: place.region ?? null,
    },
    select: { id: true },
  });
}

async function persona(externalId: string) {
  return (await app.db.prisma.customer.findUniqueOrThrow({ where: { externalId }, select: { id: true } })).id;
}

/** The hidden fields of the rendered form for one purpose, as a browser would submit them. */
function formFor(page: string, purpose: string): URLSearchParams {
  const form = page.match(new RegExp(`<form[^>]*data-choice="${purpose}"[\\s\\S]*?</form>`))?.[0];
  if (!form) throw new Error(`no form for ${purpose} in the page`);
  const fields = new URLSearchParams();
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields.set(name, value.replace(/&amp;/g, '&'));
  return fields;
}

/** The state text rendered for one purpose. */
function stateOf(page: string, purpose: string): string {
  const state = page.match(new RegExp(`id="state-${purpose}">([\\s\\S]*?)</p>`))?.[1];
  if (!state) throw new Error(`no state for ${purpose} in the page`);
  return state
    .replace(/<[^>]+>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

const post = (body: URLSearchParams, headers: Record<string, string> = {}) =>
  app.fetch('/consent-center', {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'vitest-browser/1.0',
      'x-forwarded-for': '203.0.113.9',
      ...headers,
    },
    body: body.toString(),
  });

const events = (customerId: string) =>
  app.db.prisma.consentEvent.findMany({
    where: { customerId },
    orderBy: { id: 'asc' },
    select: { purposeKey: true, action: true, source: true, noticeVersion: true, regime: true, ipHash: true, userAgent: true },
  });

function expectSecurityHeaders(response: Response) {
  const csp = response.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
  expect(csp).toMatch(/style-src 'nonce-[A-Za-z0-9+/=]+'/);
  expect(csp).toContain("form-action 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  expect(response.headers.get('cache-control')).toBe('no-store');
}

describe('GET /consent-center', () => {
  it('answers an invalid, forged, expired or missing token with 403 and no data', async () => {
    const lena = await persona('CRM-EU-NO-MARKETING');
    const good = createLinkToken(keyring, lena, linkExpiry(new Date(), 1));
    const [payload, kid, sig] = good.split('.');
    const other = parseHmacKeys(`k9:${'x'.repeat(40)}`, { production: false });
    const tokens = [
      '',
      'garbage',
      `${payload}.${kid}.${sig.slice(0, -2)}AA`,
      createLinkToken(other, lena, linkExpiry(new Date(), 1)),
      createLinkToken(keyring, lena, new Date(Date.now() - 1000)),
      createLinkToken(keyring, randomUUID(), linkExpiry(new Date(), 1)),
    ];
    for (const token of tokens) {
      const response = await app.fetch(`/consent-center?token=${encodeURIComponent(token)}`);
      expect(response.status).toBe(403);
      expectSecurityHeaders(response);
      const body = await response.text();
      expect(body).toContain('This link is invalid or has expired');
      expect(body).toContain('ask our customer support for a new link');
      expect(body).not.toMatch(/Lena|Schmidt|Marketing messages|<form/);
    }
    expect((await app.fetch('/consent-center')).status).toBe(403);
  });

  it("shows a GDPR subject's purposes and states, with the contract purposes apart", async () => {
    // Lena's record says German; the page speaks English when asked to.
    const response = await app.fetch(`${link(await persona('CRM-EU-NO-MARKETING'))}&lang=en`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expectSecurityHeaders(response);
    const page = await response.text();
    expect(page).toContain('Hello Lena Schmidt.');
    expect(page).toContain('General Data Protection Regulation');
    for (const title of [
      'Marketing messages',
      'Analytics',
      'Personalised recommendations',
      'Training AI models',
      'Sharing with advertising partners',
    ]) {
      expect(page).toContain(`<legend>${title}</legend>`);
    }
    expect(page).toContain('Sending you offers and newsletters by email or SMS.');
    expect(stateOf(page, 'marketing')).toBe('Off Not used until you opt in');
    expect(formFor(page, 'marketing').get('action')).toBe('GRANT');
    // Transactional and support: shown as needed, with no form to switch them off.
    expect(page).toMatch(
      /<h3>Running your orders and account<\/h3>[\s\S]*?Needed to serve you, cannot be switched off\. We need this to provide what you asked us for/,
    );
    expect(page).toContain('<h3>Customer support</h3>');
    expect(page).not.toContain('data-choice="transactional"');
    expect(page).not.toContain('data-choice="support"');
    // Nothing from anywhere else: no absolute URLs in src/href/action.
    expect(page).not.toMatch(/(src|href|action)="(https?:)?\/\//);
    const nonce = response.headers.get('content-security-policy')!.match(/'nonce-([^']+)'/)![1];
    expect(page).toContain(`<style nonce="${nonce}">`);
    expect(page).toContain(`<script nonce="${nonce}">`);
  });

  it('shows a Californian what holds until they opt out, and that AI training needs a yes', async () => {
    const page = await (await app.fetch(link(await persona('CRM-CA-DEFAULT')))).text();
    expect(page).toContain('California privacy law (CCPA/CPRA)');
    expect(stateOf(page, 'marketing')).toBe('On Allowed by default until you opt out');
    expect(formFor(page, 'marketing').get('action')).toBe('OPT_OUT');
    expect(stateOf(page, 'ai_training')).toBe('Off Not used until you opt in');
  });

  it("shows a granted consent with its date, and the subject's history", async () => {
    const page = await (await app.fetch(`${link(await persona('CRM-EU-MARKETING'))}&lang=en`)).text();
    expect(stateOf(page, 'marketing')).toBe('On Granted on 10 April 2026');
    expect(formFor(page, 'marketing').get('action')).toBe('WITHDRAW');
    expect(page).toMatch(/<td>10 Apr 2026, 08:30 UTC<\/td><td>Marketing messages: consent given<\/td><td>This page<\/td>/);
  });

  it('escapes what it renders', async () => {
    const mallory = await customer({ country: 'DE' }, '<img src=x onerror=alert(1)>"');
    const page = await (await app.fetch(link(mallory.id))).text();
    expect(page).toContain('Hello &lt;img src=x onerror=alert(1)&gt;&quot; Subject.');
    expect(page).not.toContain('<img');
  });

  it('answers other methods with 405', async () => {
    const response = await app.fetch('/consent-center', { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

describe('POST /consent-center', () => {
  it('records a grant once through the ledger, even when the same form is sent twice, then a withdrawal', async () => {
    const subject = await customer({ country: 'FR' });
    const page = await (await app.fetch(link(subject.id))).text();
    const form = formFor(page, 'analytics');
    expect(form.get('action')).toBe('GRANT');

    const first = await post(form);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe(`/consent-center?token=${form.get('token')}&saved=analytics`);
    const retry = await post(form);
    expect(retry.status).toBe(303);
    const recorded = await events(subject.id);
    expect(recorded).toEqual([
      {
        purposeKey: 'analytics',
        action: 'GRANT',
        source: 'CONSENT_CENTER',
        noticeVersion: 'notice-v1',
        regime: 'GDPR',
        ipHash: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/),
        userAgent: 'vitest-browser/1.0',
      },
    ]);
    expect(await app.db.prisma.outboxEvent.count({ where: { customerId: subject.id } })).toBe(1);

    const after = await (await app.fetch(first.headers.get('location')!)).text();
    expect(after).toContain('Saved: &quot;Analytics&quot; is now on.');
    expect(stateOf(after, 'analytics')).toMatch(/^On Granted on \d{1,2} \w+ \d{4}$/);
    expect(after).toMatch(/<td>Analytics: consent given<\/td><td>This page<\/td>/);

    const withdraw = formFor(after, 'analytics');
    expect(withdraw.get('action')).toBe('WITHDRAW');
    expect((await post(withdraw)).status).toBe(303);
    expect((await events(subject.id)).map((e) => e.action)).toEqual(['GRANT', 'WITHDRAW']);
    const final = await (await app.fetch(link(subject.id))).text();
    expect(stateOf(final, 'analytics')).toMatch(/^Off Withdrawn on /);
  });

  it('records an opt-out and an opt-in for a Californian', async () => {
    const subject = await customer({ country: 'US', region: 'CA' });
    const page = await (await app.fetch(link(subject.id))).text();
    expect((await post(formFor(page, 'marketing'))).status).toBe(303);
    const after = await (await app.fetch(link(subject.id))).text();
    expect(stateOf(after, 'marketing')).toMatch(/^Off Opted out on /);
    expect((await post(formFor(after, 'marketing'))).status).toBe(303);
    expect((await events(subject.id)).map((e) => [e.action, e.regime])).toEqual([
      ['OPT_OUT', 'CCPA'],
      ['OPT_IN', 'CCPA'],
    ]);
  });

  it('refuses a POST without the CSRF defence and records nothing', async () => {
    const subject = await customer({ country: 'DE' });
    const other = await customer({ country: 'DE' });
    const form = formFor(await (await app.fetch(link(subject.id))).text(), 'marketing');
    const without = (name: string) => {
      const copy = new URLSearchParams(form);
      copy.delete(name);
      return copy;
    };
    const withForm = (value: string) => {
      const copy = new URLSearchParams(form);
      copy.set('form', value);
      return copy;
    };
    const refusals: Array<[URLSearchParams, Record<string, string>?]> = [
      [without('form')],
      [without('token')],
      [withForm('made-up.nonce')],
      [withForm(createFormToken(keyring, other.id))],
      [form, { 'sec-fetch-site': 'cross-site' }],
      [form, { origin: 'https://evil.example' }],
    ];
    for (const [body, headers] of refusals) {
      const response = await post(body, headers);
      expect(response.status).toBe(403);
      expectSecurityHeaders(response);
      expect(await response.text()).not.toContain('Ada');
    }
    const json = await app.fetch('/consent-center', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Object.fromEntries(form)),
    });
    expect(json.status).toBe(403);
    // A GET never changes anything, whatever it carries.
    expect((await app.fetch(`${link(subject.id)}&${form.toString().replace(/token=[^&]*&?/, '')}`)).status).toBe(200);
    expect(await events(subject.id)).toEqual([]);
    // The page's own form passes, with the browser's same-origin headers.
    expect((await post(form, { 'sec-fetch-site': 'same-origin', origin: 'null' })).status).toBe(303);
    expect(await events(subject.id)).toHaveLength(1);
  });

  it('refuses a purpose that takes no consent and an unknown action', async () => {
    const subject = await customer({ country: 'DE' });
    const form = formFor(await (await app.fetch(link(subject.id))).text(), 'marketing');
    form.set('purpose', 'transactional');
    expect((await post(form)).status).toBe(403);
    form.set('purpose', 'marketing');
    form.set('action', 'DELETE');
    expect((await post(form)).status).toBe(403);
    expect(await events(subject.id)).toEqual([]);
  });
});

describe('Global Privacy Control on the consent center', () => {
  it('records the GPC opt-out for a Californian and says so, once', async () => {
    const subject = await customer({ country: 'US', region: 'CA' });
    const first = await (await app.fetch(link(subject.id), { headers: { 'sec-gpc': '1' } })).text();
    expect(first).toContain(
      'Your browser&#39;s Global Privacy Control signal was honoured: we recorded that you opt out of sharing with advertising partners.',
    );
    expect(stateOf(first, 'ad_sharing')).toMatch(/^Off Opted out by your browser&#39;s Global Privacy Control signal on /);
    const again = await (await app.fetch(link(subject.id), { headers: { 'sec-gpc': '1' } })).text();
    expect(again).toContain('Global Privacy Control signal was honoured: you are opted out of sharing with advertising partners.');
    expect((await events(subject.id)).map((e) => [e.purposeKey, e.action, e.source, e.regime])).toEqual([
      ['ad_sharing', 'OPT_OUT', 'GPC', 'CCPA'],
    ]);
  });

  it('lets a Californian with GPC opt back in on the page, and keeps that choice on the next visit', async () => {
    const subject = await customer({ country: 'US', region: 'CA' });
    const gpc = { 'sec-gpc': '1' };
    const page = await (await app.fetch(link(subject.id), { headers: gpc })).text();
    expect((await post(formFor(page, 'ad_sharing'), gpc)).status).toBe(303);
    const after = await (await app.fetch(link(subject.id), { headers: gpc })).text();
    expect(after).toMatch(
      /Your browser sends a Global Privacy Control signal, but on .* you allowed sharing with advertising partners on this page/,
    );
    expect(stateOf(after, 'ad_sharing')).toMatch(/^On Opted in on /);
    expect((await events(subject.id)).map((e) => [e.action, e.source])).toEqual([
      ['OPT_OUT', 'GPC'],
      ['OPT_IN', 'CONSENT_CENTER'],
    ]);
  });

  it('records nothing where the law does not make GPC an opt-out, and says so', async () => {
    const subject = await customer({ country: 'DE' });
    const page = await (await app.fetch(link(subject.id), { headers: { 'sec-gpc': '1' } })).text();
    expect(page).toContain('The law where you live does not make it an opt-out');
    expect(await events(subject.id)).toEqual([]);
  });
});
