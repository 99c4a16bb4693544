// npm run consent-link -- <externalId> [--days=N] [--base-url=URL]
// Prints a signed consent-center link for the customer with that CRM id, as
// an email to them would carry it. Signed with CONSENTQL_HMAC_KEYS (the
// development key when unset), so the server must run with the same keys.
// With the embedded database, stop `npm start` first: PGlite's data directory
// must not be opened by two processes at once.
import fs from 'node:fs';
import { loadConfig, type Config } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { DEFAULT_LINK_DAYS } from '../src/web/links.ts';
import { linkForExternalId } from '../src/web/issue-link.ts';

const USAGE = `usage: npm run consent-link -- <externalId> [--days=N] [--base-url=URL]   (e.g. npm run consent-link -- CRM-EU-NO-MARKETING)`;

function parseArgs(argv: string[]): { externalId: string; days: number; baseUrl?: string } | string {
  let externalId: string | undefined;
  let days = DEFAULT_LINK_DAYS;
  let baseUrl: string | undefined;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') return USAGE;
    if (arg.startsWith('--days=')) {
      days = Number(arg.slice('--days='.length));
      if (!Number.isFinite(days) || days <= 0 || days > 366)
        return `--days expects a number of days from 1 to 366, got ${arg.slice(7)}. ${USAGE}`;
    } else if (arg.startsWith('--base-url=')) {
      baseUrl = arg.slice('--base-url='.length);
      if (!URL.canParse(baseUrl)) return `--base-url expects an absolute URL such as https://privacy.example.com, got ${baseUrl}. ${USAGE}`;
    } else if (arg.startsWith('-')) return `unknown option ${arg}. ${USAGE}`;
    else if (externalId) return `expected one external id, got ${externalId} and ${arg}. ${USAGE}`;
    else externalId = arg;
  }
  return externalId ? { externalId, days, baseUrl } : `an external id is required. ${USAGE}`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    console.error(args);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (!config.database.url && !fs.existsSync(config.database.dataDir)) {
    console.error(
      `There is no embedded database in ${config.database.dataDir}. Run \`npm start\` once (it seeds the demo data), or set DATABASE_URL.`,
    );
    return 1;
  }
  for (const warning of config.warnings) console.error(warning);
  const keyring = config.keys.hmac;
  const db = await openDatabase({ databaseUrl: config.database.url, dataDir: config.database.dataDir });
  try {
    const link = await linkForExternalId(db, keyring, args.baseUrl ?? `http://localhost:${config.http.port}`, args.externalId, {
      days: args.days,
    });
    if (!link) {
      console.error(
        `No customer with external id ${JSON.stringify(args.externalId)} in ${db.location}. Check the id (demo personas: CRM-EU-NO-MARKETING, CRM-CA-DEFAULT, …).`,
      );
      return 1;
    }
    console.log(link.url);
    console.error(`valid until ${link.expiresAt.toISOString()}`);
    return 0;
  } catch (error) {
    console.error(`Could not look the customer up in ${db.location}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await db.close();
  }
}

process.exitCode = await main();
