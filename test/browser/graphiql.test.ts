import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import pino from 'pino';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { databaseUrl, poolSize } from '../support/app.ts';

/** Debian's Chromium (`apt-get install chromium`); CI installs it and sets CONSENTQL_REQUIRE_BROWSER=1. */
function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not installed under this name
    }
  }
  return undefined;
}

const executablePath = findChromium();
if (!executablePath && process.env.CONSENTQL_REQUIRE_BROWSER === '1') {
  throw new Error('CONSENTQL_REQUIRE_BROWSER=1 but no Chromium was found: install it with `apt-get install -y chromium`.');
}

describe.skipIf(!executablePath)('GraphiQL in a real Chromium', () => {
  let app: App;
  let browser: Browser;

  beforeAll(async () => {
    const config = { ...loadConfig({ NODE_ENV: 'development' }), databaseUrl: databaseUrl(), databasePoolSize: poolSize(), port: 0, host: '127.0.0.1' };
    app = await startApp(config, pino({ level: 'silent' }));
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
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
