import { createHash } from 'node:crypto';
import type { ClientRole } from '../generated/prisma/enums.ts';
import { PURPOSE_KEYS, type PurposeKey } from '../policy/taxonomy.ts';

// The demo API clients of a fresh install: one per kind of consuming app, plus
// an admin for schema owners. Their keys are readable, fixed strings meant for
// local development and the README only; a real deployment registers its own
// clients with random keys. Only sha256(key) is ever stored (api_client.key_hash).

export type { ClientRole };

export interface DemoClient {
  /** Unique client name (api_client.name). */
  name: string;
  /** Development-only API key, sent as `Authorization: Bearer <key>`. Never stored. */
  apiKey: string;
  role: ClientRole;
  /** Purposes this client may declare in `X-Purpose`. */
  allowedPurposes: readonly PurposeKey[];
  /** May ask for per-path masking reasons with `X-Consent-Explain: 1`. */
  canExplain: boolean;
  description: string;
}

export const DEMO_CLIENTS: readonly DemoClient[] = [
  {
    name: 'support-chatbot',
    apiKey: 'dev-support-chatbot-key',
    role: 'CONSUMER',
    allowedPurposes: ['support'],
    canExplain: false,
    description: 'Support chatbot: answers tickets using orders and conversations.',
  },
  {
    name: 'analytics-app',
    apiKey: 'dev-analytics-app-key',
    role: 'CONSUMER',
    allowedPurposes: ['analytics'],
    canExplain: false,
    description: 'Analytics app: shop and campaign performance.',
  },
  {
    name: 'churn-model-training',
    apiKey: 'dev-churn-training-key',
    role: 'CONSUMER',
    allowedPurposes: ['ai_training'],
    canExplain: false,
    description: 'Churn-model training pipeline: reads only subjects who permit AI training.',
  },
  {
    name: 'email-platform-sync',
    apiKey: 'dev-email-platform-key',
    role: 'CONSUMER',
    allowedPurposes: ['marketing'],
    canExplain: false,
    description: 'Email platform sync: audiences and suppression list for marketing email.',
  },
  {
    name: 'ad-partner-export',
    apiKey: 'dev-ad-partner-key',
    role: 'CONSUMER',
    allowedPurposes: ['ad_sharing'],
    canExplain: false,
    description: 'Ad-partner export: audiences shared for cross-context behavioural advertising.',
  },
  {
    name: 'consent-center',
    apiKey: 'dev-consent-center-key',
    role: 'CONSENT_RECORDER',
    allowedPurposes: ['consent_management'],
    canExplain: false,
    description: 'Consent center and CRM sync: records grants, withdrawals and opt-outs, shows a subject their history.',
  },
  {
    name: 'schema-admin',
    apiKey: 'dev-admin-key',
    role: 'ADMIN',
    allowedPurposes: PURPOSE_KEYS,
    canExplain: true,
    description: 'Schema owners and admins: every purpose, with per-path explanations.',
  },
];

/** sha256 hex of an API key: what api_client.key_hash stores and what authentication compares. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The flag that lets `npm run db:seed` write the demo clients under NODE_ENV=production. */
export const ALLOW_DEMO_CLIENTS_FLAG = '--allow-demo-clients';

/**
 * Why `npm run db:seed` must not run, or null when it may: under
 * NODE_ENV=production it would write the demo clients, whose keys are
 * published (README, this file), unless forced with --allow-demo-clients.
 */
export function demoSeedRefusal(nodeEnv: string | undefined, allowDemoClients: boolean): string | null {
  if (nodeEnv !== 'production' || allowDemoClients) return null;
  return (
    'Seed refused: NODE_ENV=production, and the seed writes the demo API clients, whose keys are published in the README ' +
    `(${DEMO_CLIENTS.map((c) => c.apiKey).join(', ')}): anyone could read this database's data with them, ` +
    'and a production start refuses a database that holds them. Seed a development or test database instead ' +
    '(unset NODE_ENV), or, for a database that will never serve production (a staging copy, a demo), ' +
    `force it with \`npm run db:seed -- ${ALLOW_DEMO_CLIENTS_FLAG}\`.`
  );
}

export interface DemoClientRow {
  /** api_client.name of the row. */
  name: string;
  /** The demo client whose published key the row's key_hash is the SHA-256 of. */
  demoClient: string;
}

/**
 * The api_client rows a demo key still opens (whatever they are named now):
 * its current key, or its previous key during a rotation's overlap; revoked
 * clients open nothing.
 */
export async function findDemoClientRows(db: {
  // biome-ignore lint/suspicious/noExplicitAny: rows of whichever driver (pg, PGlite), typed where they are read
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}): Promise<DemoClientRow[]> {
  const byHash = new Map(DEMO_CLIENTS.map((c) => [hashApiKey(c.apiKey), c.name]));
  const { rows } = await db.query(
    `SELECT "name", CASE WHEN "key_hash" = ANY($1::text[]) THEN "key_hash" ELSE "previous_key_hash" END AS "hash"
       FROM "api_client"
      WHERE "revoked_at" IS NULL
        AND ("key_hash" = ANY($1::text[]) OR ("previous_key_hash" = ANY($1::text[]) AND "previous_key_expires_at" > now()))
      ORDER BY "name"`,
    [[...byHash.keys()]],
  );
  return rows.map((r) => ({ name: String(r.name), demoClient: byHash.get(String(r.hash))! }));
}

/**
 * The start-up check: a production start refuses a database whose api_client
 * holds a demo key (src/app.ts runs it before serving), naming the clients
 * and saying how to delete or rotate them. Other environments pass.
 */
export async function refuseDemoClientsInProduction(
  // biome-ignore lint/suspicious/noExplicitAny: rows of whichever driver (pg, PGlite), typed where they are read
  db: { query(sql: string, params?: unknown[]): Promise<{ rows: any[] }> },
  env: string,
): Promise<void> {
  if (env !== 'production') return;
  const found = await findDemoClientRows(db);
  if (found.length === 0) return;
  const keyOf = (name: string) => DEMO_CLIENTS.find((c) => c.name === name)!.apiKey;
  const names = found.map((r) => `'${r.name.replace(/'/g, "''")}'`).join(', ');
  throw new Error(
    `NODE_ENV=production, but api_client holds ${found.length} demo client${found.length === 1 ? '' : 's'} whose keys are published ` +
      `(README, src/db/demo-clients.ts): ${found.map((r) => `${r.name} (${keyOf(r.demoClient)})`).join(', ')}. ` +
      'Anyone could read data with them. Revoke each one (npm run client -- revoke --name <name>), or give it a new key ' +
      '(npm run client -- rotate --name <name> --overlap 0), or delete them: ' +
      `DELETE FROM api_client WHERE name IN (${names}); ` +
      'then start again. (The demo data comes from npm run db:seed, which is meant for development databases.)',
  );
}
