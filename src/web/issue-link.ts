import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { HmacKeyring } from '../masking/types.ts';
import { consentCenterUrl, createLinkToken, DEFAULT_LINK_DAYS, linkExpiry } from './links.ts';

// Issuing consent-center links for a CRM id: the database lookup around the
// pure token functions of links.ts, shared by `npm run consent-link` and the
// start-up log.

/** The persona whose link the development start-up log prints. */
export const DEMO_LINK_PERSONA = 'CRM-EU-NO-MARKETING';

export interface IssuedLink {
  url: string;
  customerId: string;
  expiresAt: Date;
}

/** A signed link for the customer with CRM id `externalId`, or null when there is none. */
export async function linkForExternalId(
  db: Database,
  keyring: HmacKeyring,
  baseUrl: string | URL,
  externalId: string,
  { days = DEFAULT_LINK_DAYS, now = new Date() }: { days?: number; now?: Date } = {},
): Promise<IssuedLink | null> {
  const customer = await db.prisma.customer.findUnique({ where: { externalId }, select: { id: true } });
  if (!customer) return null;
  const expiresAt = linkExpiry(now, days);
  return { url: consentCenterUrl(baseUrl, createLinkToken(keyring, customer.id, expiresAt)), customerId: customer.id, expiresAt };
}

/**
 * For the development start-up log: a working link for the demo persona, or
 * null in production or when the persona is not in the database. `serverUrl`
 * is any URL of the server (e.g. the GraphiQL URL); only its origin is used.
 */
export async function demoConsentCenterLink(
  db: Database,
  config: Config,
  serverUrl: string,
  externalId = DEMO_LINK_PERSONA,
): Promise<string | null> {
  if (config.env === 'production') return null;
  return (await linkForExternalId(db, config.keys.hmac, serverUrl, externalId))?.url ?? null;
}
