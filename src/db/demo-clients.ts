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
