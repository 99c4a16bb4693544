import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); a test tool's own browser download does not work here. */
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

export const chromiumPath = findChromium();

// CI installs Chromium and sets CONSENTQL_REQUIRE_BROWSER=1, so there a missing browser fails instead of skipping.
if (!chromiumPath && process.env.CONSENTQL_REQUIRE_BROWSER === '1') {
  throw new Error('CONSENTQL_REQUIRE_BROWSER=1 but no Chromium was found: install it with `apt-get install -y chromium`.');
}

/** Headless, and with no background traffic: this machine's network is closed. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}
