import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator } from 'playwright-core';
import pino from 'pino';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { parseHmacKeys } from '../../src/masking/keyring.ts';
import { demoConsentCenterLink } from '../../src/web/issue-link.ts';
import { consentCenterUrl, createLinkToken, linkExpiry } from '../../src/web/links.ts';
import { databaseUrl, poolSize } from '../support/app.ts';
import { chromiumPath, launchChromium } from '../support/chromium.ts';

/** The state line of one purpose, as read aloud: "On Granted on 1 December 2026". */
const stateOf = async (group: Locator) => (await group.locator('.state').textContent())!.replace(/\s+/g, ' ').trim();

describe.skipIf(!chromiumPath)('the consent center in a real Chromium', () => {
  let app: App;
  let browser: Browser;
  const config = loadConfig({
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl(),
    DATABASE_POOL_SIZE: String(poolSize() ?? ''),
    PORT: '0',
    HOST: '127.0.0.1',
  });

  beforeAll(async () => {
    // The shared test database has other files' webhook subscriptions: this app must not deliver them.
    process.env.CONSENTQL_WEBHOOK_DISPATCH = 'off';
    app = await startApp(config, pino({ level: 'silent' }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('opens a signed link, shows the purposes, switches one and shows the new state after the reload', async () => {
    // A customer of this test's own: the seeded personas stay as other tests expect them.
    const tag = randomUUID();
    const subject = await app.db.prisma.customer.create({
      data: { externalId: `TEST-CC-${tag}`, email: `${tag}@consentql.test`, firstName: 'Greta', lastName: 'Lindqvist', country: 'SE' },
    });
    const server = app.url.replace('localhost', '127.0.0.1');
    const url = consentCenterUrl(
      server,
      createLinkToken(parseHmacKeys(undefined, { production: false }), subject.id, linkExpiry(new Date(), 1)),
    );

    const page = await browser.newPage({ viewport: { width: 900, height: 1400 } });
    const offsite: string[] = [];
    const violations: string[] = [];
    page.on('request', (request) => {
      const u = new URL(request.url());
      if (!['127.0.0.1', 'localhost'].includes(u.hostname)) offsite.push(request.url());
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(url);
    expect(await page.textContent('h1')).toBe('Your privacy choices');
    expect(await page.textContent('header')).toContain('Hello Greta Lindqvist.');
    const marketing = page.getByRole('group', { name: 'Marketing messages' });
    expect(await stateOf(marketing)).toBe('Off Not used until you opt in');
    expect(await page.getByRole('group').count()).toBe(5);

    await page.screenshot({ path: '/tmp/consent-center-before.png', fullPage: true });
    await Promise.all([page.waitForURL(/saved=marketing/), marketing.getByRole('button', { name: 'Give consent' }).click()]);
    expect(await page.getByRole('status').first().innerText()).toBe('Saved: "Marketing messages" is now on.');
    expect(await stateOf(marketing)).toMatch(/^On Granted on \d{1,2} \w+ \d{4}$/);
    expect(await page.locator('table').innerText()).toMatch(/Marketing messages: consent given\tThis page/);

    await page.reload();
    expect(await stateOf(page.getByRole('group', { name: 'Marketing messages' }))).toMatch(/^On Granted on /);
    await page.screenshot({ path: '/tmp/consent-center-after.png', fullPage: true });

    const recorded = await app.db.prisma.consentEvent.findMany({
      where: { customerId: subject.id },
      select: { purposeKey: true, action: true, source: true },
    });
    expect(recorded).toEqual([{ purposeKey: 'marketing', action: 'GRANT', source: 'CONSENT_CENTER' }]);
    expect(offsite).toEqual([]);
    expect(violations).toEqual([]);
  }, 90_000);

  it('shows an invalid link as such, with no data', async () => {
    const page = await browser.newPage();
    const response = await page.goto(
      `${app.url.replace('localhost', '127.0.0.1').replace('/graphql', '')}/consent-center?token=forged.dev.AAAA`,
    );
    expect(response?.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('This link is invalid or has expired');
    await page.screenshot({ path: '/tmp/consent-center-invalid.png' });
  }, 30_000);

  it('gives the start-up log a working demo link', async () => {
    const link = await demoConsentCenterLink(app.db, config, app.url);
    expect(link).toMatch(/^http:\/\/localhost:\d+\/consent-center\?token=/);
    const page = await browser.newPage();
    await page.goto(link!.replace('localhost', '127.0.0.1'));
    expect(await page.textContent('header')).toContain('Hello Lena Schmidt.');
    expect(await demoConsentCenterLink(app.db, { ...config, env: 'production' }, app.url)).toBeNull();
  }, 30_000);
});
