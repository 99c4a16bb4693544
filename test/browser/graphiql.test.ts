import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import pino from 'pino';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { databaseUrl, poolSize } from '../support/app.ts';
import { chromiumPath, launchChromium } from '../support/chromium.ts';

describe.skipIf(!chromiumPath)('GraphiQL in a real Chromium', () => {
  let app: App;
  let browser: Browser;

  beforeAll(async () => {
    const config = loadConfig({
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl(),
      DATABASE_POOL_SIZE: String(poolSize() ?? ''),
      PORT: '0',
      HOST: '127.0.0.1',
    });
    // The shared test database has other files' webhook subscriptions: this app must not deliver them.
    process.env.CONSENTQL_WEBHOOK_DISPATCH = 'off';
    app = await startApp(config, pino({ level: 'silent' }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('opens with the example query and the support chatbot headers, and runs it', async () => {
    const page = await browser.newPage();
    const offsite: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (!['127.0.0.1', 'localhost'].includes(url.hostname) && !['blob:', 'data:'].includes(url.protocol)) {
        offsite.push(request.url());
      }
    });
    await page.goto(app.url.replace('localhost', '127.0.0.1'));
    await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
    await page.waitForFunction(() => document.body.innerText.includes('SupportView'), undefined, { timeout: 15_000 });

    const response = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST');
    await page.click('.graphiql-execute-button');
    const body = await (await response).json();
    expect(body.errors).toBeUndefined();
    expect(body.data.customers.totalCount).toBeGreaterThan(0);
    expect(body.extensions.consent.purpose).toBe('support');
    await page.waitForFunction(() => document.body.innerText.includes('"totalCount"'), undefined, { timeout: 15_000 });
    expect(offsite).toEqual([]);
  }, 90_000);
});
