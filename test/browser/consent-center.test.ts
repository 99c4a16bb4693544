import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import axe from 'axe-core';
import pino from 'pino';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { keyOf } from '../support/app.ts';
import { parseHmacKeys } from '../../src/masking/keyring.ts';
import { demoConsentCenterLink } from '../../src/web/issue-link.ts';
import { consentCenterUrl, createLinkToken, linkExpiry } from '../../src/web/links.ts';
import { databaseUrl, poolSize } from '../support/app.ts';
import { chromiumPath, launchChromium } from '../support/chromium.ts';

/** The state line of one purpose, as read aloud: "On Granted on 1 December 2026". */
const stateOf = async (group: Locator) => (await group.locator('.state').textContent())!.replace(/\s+/g, ' ').trim();

/**
 * axe-core's WCAG 2.1 A/AA rules (and its best practices) on the page as it
 * stands. Injected through the DevTools protocol, so the page's own CSP, which
 * allows no foreign script, stays as it is.
 */
async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const result = await page.evaluate(() =>
    (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }),
  );
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** The element that has focus, as "tag#id[role]". */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}#${el.id}[${el.getAttribute('role') ?? ''}]` : null;
  });

describe.skipIf(!chromiumPath)('the consent center in a real Chromium', () => {
  let app: App;
  let browser: Browser;
  const keyring = parseHmacKeys(undefined, { production: false });
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl(),
    DATABASE_POOL_SIZE: String(poolSize() ?? ''),
    PORT: '0',
    HOST: '127.0.0.1',
  });
  let server: string;
  const offsite: string[] = [];
  const cspViolations: string[] = [];

  /** A customer of this test's own: the seeded personas stay as other tests expect them. */
  async function subject(data: { firstName: string; lastName: string; country: string; region?: string; preferredLanguage?: string }) {
    const tag = randomUUID();
    return app.db.prisma.customer.create({ data: { externalId: `TEST-CC-${tag}`, email: `${tag}@consentql.test`, ...data } });
  }
  const linkFor = (id: string) => consentCenterUrl(server, createLinkToken(keyring, id, linkExpiry(new Date(), 1)));

  async function open(url: string, locale = 'en-GB'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 1400 }, locale });
    page.on('request', (request) => {
      const u = new URL(request.url());
      if (!['127.0.0.1', 'localhost'].includes(u.hostname)) offsite.push(request.url());
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(url);
    return page;
  }

  beforeAll(async () => {
    // The shared test database has other files' webhook subscriptions: this app must not deliver them.
    process.env.CONSENTQL_WEBHOOK_DISPATCH = 'off';
    app = await startApp(config, pino({ level: 'silent' }));
    server = app.url.replace('localhost', '127.0.0.1');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    expect(offsite).toEqual([]);
    expect(cspViolations).toEqual([]);
  });

  it('opens a signed link, switches a purpose, and moves focus to the announced status after the save', async () => {
    const greta = await subject({ firstName: 'Greta', lastName: 'Lindqvist', country: 'SE' });
    const page = await open(linkFor(greta.id));
    expect(await page.textContent('h1')).toBe('Your privacy choices');
    expect(await page.textContent('header')).toContain('Hello Greta Lindqvist.');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    const marketing = page.getByRole('group', { name: 'Marketing messages' });
    expect(await stateOf(marketing)).toBe('Off Not used until you opt in');
    expect(await page.getByRole('group').count()).toBe(6);
    expect(await accessibilityViolations(page)).toEqual([]);

    // The skip link is the first stop of the keyboard and leads to the choices.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to your choices');
    await page.keyboard.press('Enter');
    expect(await focused(page)).toBe('h2#choices[]');

    await page.screenshot({ path: '/tmp/consent-center-before.png', fullPage: true });
    await marketing.getByRole('button', { name: 'Give consent' }).focus();
    await Promise.all([page.waitForURL(/saved=marketing/), page.keyboard.press('Enter')]);
    // After the POST and redirect: focus on the status message, a live region naming what was saved.
    expect(await focused(page)).toBe('div#status[status]');
    const status = page.getByRole('status');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    expect(await status.innerText()).toBe('Saved: "Marketing messages" is now on. Go to "Marketing messages"');
    expect(await stateOf(marketing)).toMatch(/^On Granted on \d{1,2} \w+ \d{4}$/);
    expect(await page.locator('fieldset.saved legend').textContent()).toBe('Marketing messages');
    // Its link takes the keyboard back to the control that was saved.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(page.url()).toMatch(/#purpose-marketing$/);
    expect(await page.locator('table').innerText()).toMatch(/Marketing messages: consent given\tThis page/);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.reload();
    expect(await stateOf(page.getByRole('group', { name: 'Marketing messages' }))).toMatch(/^On Granted on /);
    await page.screenshot({ path: '/tmp/consent-center-after.png', fullPage: true });
    const recorded = await app.db.prisma.consentEvent.findMany({
      where: { customerId: greta.id },
      select: { purposeKey: true, action: true, source: true },
    });
    expect(recorded).toEqual([{ purposeKey: 'marketing', action: 'GRANT', source: 'CONSENT_CENTER' }]);
  }, 90_000);

  it('speaks the customer’s language, switches to another on the page, and keeps it', async () => {
    const jonas = await subject({ firstName: 'Jonas', lastName: 'Weber', country: 'AT', preferredLanguage: 'de' });
    const page = await open(linkFor(jonas.id), 'en-US');
    expect(await page.getAttribute('html', 'lang')).toBe('de');
    expect(await page.textContent('h1')).toBe('Ihre Datenschutz-Einstellungen');
    expect(await stateOf(page.getByRole('group', { name: 'Werbenachrichten' }))).toBe('Aus Nicht verwendet, bis Sie zustimmen');
    expect(await accessibilityViolations(page)).toEqual([]);

    await Promise.all([
      page.waitForURL(/lang=fr/),
      page.getByRole('navigation', { name: 'Sprache' }).getByRole('link', { name: 'Français' }).click(),
    ]);
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    expect(await page.textContent('h1')).toBe('Vos choix de confidentialité');
    expect(await page.getByRole('link', { name: 'Français' }).getAttribute('aria-current')).toBe('true');
    expect(await accessibilityViolations(page)).toEqual([]);

    // Back through the original link (without lang): the choice is remembered.
    await page.goto(linkFor(jonas.id));
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    const analytics = page.getByRole('group', { name: 'Mesure d’audience' });
    await Promise.all([page.waitForURL(/saved=analytics/), analytics.getByRole('button', { name: 'Donner mon consentement' }).click()]);
    expect(await page.getByRole('status').innerText()).toBe(
      'Enregistré : « Mesure d’audience » est maintenant activé. Aller à « Mesure d’audience »',
    );
    expect(await stateOf(analytics)).toMatch(/^Oui Consentement donné le \d{1,2} \S+ \d{4}$/);
  }, 90_000);

  it('withdraws everything in one step, and lets a Californian limit the use of sensitive data', async () => {
    const maria = await subject({ firstName: 'Maria', lastName: 'Lopez', country: 'US', region: 'CA' });
    const page = await open(linkFor(maria.id));
    expect(await page.textContent('header')).toContain('California privacy law');
    const limit = page.getByRole('group', { name: 'Limit the use of my sensitive personal information' });
    expect(await stateOf(limit)).toMatch(/^Off Not limited/);
    expect(await accessibilityViolations(page)).toEqual([]);

    await Promise.all([
      page.waitForURL(/saved=limit-sensitive/),
      limit.getByRole('button', { name: 'Limit the use of my sensitive personal information' }).click(),
    ]);
    expect(await focused(page)).toBe('div#status[status]');
    expect(await page.getByRole('status').innerText()).toMatch(/^Saved: the use of your sensitive personal information is now limited\./);
    expect(await stateOf(limit)).toMatch(/^On Limited on \d{1,2} \w+ \d{4}: used only where needed to serve you$/);
    expect(await limit.getByRole('button').textContent()).toBe('Allow it again');

    await Promise.all([
      page.waitForURL(/saved=withdraw-all/),
      page.getByRole('button', { name: 'Withdraw everything I can withdraw' }).click(),
    ]);
    expect(await focused(page)).toBe('div#status[status]');
    expect(await page.getByRole('status').innerText()).toBe(
      'Saved: you withdrew or opted out of Marketing messages, Analytics, Personalised recommendations and Sharing with advertising partners. Go to "Withdraw everything at once"',
    );
    for (const name of ['Marketing messages', 'Analytics', 'Personalised recommendations', 'Sharing with advertising partners']) {
      expect(await stateOf(page.getByRole('group', { name }))).toMatch(/^Off Opted out on /);
    }
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: '/tmp/consent-center-withdrawn.png', fullPage: true });
    const recorded = await app.db.prisma.consentEvent.findMany({
      where: { customerId: maria.id },
      orderBy: { id: 'asc' },
      select: { purposeKey: true, action: true, sensitive: true },
    });
    expect(recorded.map((e) => `${e.purposeKey}:${e.action}${e.sensitive ? ':sensitive' : ''}`)).toEqual([
      'marketing:OPT_OUT:sensitive',
      'analytics:OPT_OUT:sensitive',
      'personalization:OPT_OUT:sensitive',
      'ad_sharing:OPT_OUT:sensitive',
      'marketing:OPT_OUT',
      'analytics:OPT_OUT',
      'personalization:OPT_OUT',
      'ad_sharing:OPT_OUT',
    ]);
  }, 90_000);

  it('shows on the transparency page the read an API client made just before', async () => {
    const lea = await subject({ firstName: 'Lea', lastName: 'Roth', country: 'DE' });
    const read = await fetch(app.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${keyOf('support-chatbot')}`,
        'x-purpose': 'support',
      },
      body: JSON.stringify({ query: `query Chat { customer(id: "${lea.id}") { firstName lastName email } }` }),
    });
    expect((await read.json()).data.customer.firstName).toBe('Lea');
    await app.flush();
    // And a complete extract that holds her, made before the read: the axe check covers both kinds of entry.
    const trainer = await app.db.prisma.apiClient.findUniqueOrThrow({ where: { name: 'churn-model-training' }, select: { id: true } });
    const extract = await app.db.prisma.extract.create({
      data: {
        clientId: trainer.id,
        purposeKey: 'ai_training',
        purposeVersion: 1,
        policyVersion: 'test',
        snapshotAt: new Date(Date.now() - 3_600_000),
        format: 'csv',
        fields: ['Customer.churnScore', 'Customer.email'],
        status: 'COMPLETE',
        manifest: {
          fields: [
            { field: 'Customer.churnScore', decision: 'CLEAR' },
            { field: 'Customer.email', decision: 'MASKED' },
          ],
        },
        completedAt: new Date(),
      },
      select: { id: true },
    });
    await app.db.prisma.extractMember.create({ data: { customerId: lea.id, extractId: extract.id } });

    const page = await open(linkFor(lea.id));
    await page.getByRole('link', { name: 'Who used my data, for what, when' }).click();
    await page.waitForURL(/\/consent-center\/activity\?/);
    expect(await page.textContent('h1')).toBe('Who used your data, for what, when');
    const entries = page.locator('ol.activity').getByRole('listitem');
    expect(await entries.count()).toBe(2);
    expect((await entries.first().innerText()).replace(/\s+/g, ' ')).toMatch(
      /^\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC Support chatbot used your name and email address for "Customer support"\.$/,
    );
    expect((await entries.nth(1).innerText()).replace(/\s+/g, ' ')).toMatch(
      new RegExp(
        `UTC Churn model training copied our predictions about you into a data set for "Training AI models" \\(data set ${extract.id}\\); your email address was hidden\\.$`,
      ),
    );
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: '/tmp/consent-center-activity.png', fullPage: true });

    // In German too, through the language links of the page.
    await Promise.all([page.waitForURL(/lang=de/), page.getByRole('link', { name: 'Deutsch' }).click()]);
    expect((await page.locator('ol.activity').getByRole('listitem').first().innerText()).replace(/\s+/g, ' ')).toMatch(
      /Support chatbot hat für „Kundenservice“ Folgendes verwendet: Ihr Name und Ihre E-Mail-Adresse\.$/,
    );
    expect(await accessibilityViolations(page)).toEqual([]);
  }, 90_000);

  it('shows an invalid link as such, with no data', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${server.replace('/graphql', '')}/consent-center?token=forged.dev.AAAA`);
    expect(response?.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('This link is invalid or has expired');
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: '/tmp/consent-center-invalid.png' });
  }, 30_000);

  it('gives the start-up log a working demo link', async () => {
    const link = await demoConsentCenterLink(app.db, config, app.url);
    expect(link).toMatch(/^http:\/\/localhost:\d+\/consent-center\?token=/);
    const page = await browser.newPage();
    await page.goto(link!.replace('localhost', '127.0.0.1'));
    // Lena's customer record says German.
    expect(await page.textContent('header')).toContain('Hallo Lena Schmidt.');
    expect(await demoConsentCenterLink(app.db, { ...config, env: 'production' }, app.url)).toBeNull();
  }, 30_000);
});
