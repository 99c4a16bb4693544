import { createHash } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { permits, type MaskReason } from '../policy/decide.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import type { DeploymentMode, PurposeDefinition } from '../policy/types.ts';

// Who must not be processed for a purpose right now, decided by the policy
// engine itself (`permits`) for each subject: the same rules as the row
// filter, so the list and the API can never disagree. A subject whose consent
// cannot be decided is suppressed (fail closed).
//
// Entries carry our id, the CRM id and a SHA-256 of the normalised email (how
// email platforms match suppression lists), never the email itself; what a
// client reads of them is decided by the tags of SuppressionEntry.

export type SuppressionStatus = 'SUPPRESSED' | 'CONTACTABLE';

export interface SuppressionEntry {
  /** Null for an erased subject, named only by `subjectKeys`. */
  customerId: string | null;
  externalId: string | null;
  emailSha256: string | null;
  status: SuppressionStatus;
  /** Why the engine says no (NO_CONSENT, WITHDRAWN, OPTED_OUT, EXPIRED…), or ERASED; null when contactable. */
  reason: MaskReason | 'ERASED' | null;
  /** A contactable subject whose consent expires: contact only until then. */
  contactableUntil: Date | null;
  /** An erased subject: its pseudonyms, from the erasure's notice. */
  subjectKeys?: Record<string, string>;
}

/** An erased subject, from its erasure notice: suppressed for good, named only by its pseudonyms. */
export function erasedEntry(subjectKeys: Record<string, string> | undefined): SuppressionEntry {
  return {
    customerId: null,
    externalId: null,
    emailSha256: null,
    status: 'SUPPRESSED',
    reason: 'ERASED',
    contactableUntil: null,
    subjectKeys: subjectKeys ?? {},
  };
}

const SCAN_CHUNK = 500;

export function emailSha256(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

type Row = {
  id: string;
  externalId: string;
  email: string;
  country: string | null;
  region: string | null;
  birthDate: Date | null;
  consentStates: {
    purposeKey: string;
    regime: 'GDPR' | 'CCPA' | 'US_STATE' | 'NONE';
    sensitive: boolean;
    action: 'GRANT' | 'WITHDRAW' | 'OPT_OUT' | 'OPT_IN';
    purposeVersion: number;
    expiresAt: Date | null;
  }[];
};

function select(purposeKey: string) {
  return {
    id: true,
    externalId: true,
    email: true,
    country: true,
    region: true,
    birthDate: true,
    consentStates: {
      where: { purposeKey },
      select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true },
    },
  } as const;
}

export function decideEntry(purpose: PurposeDefinition, row: Row, mode: DeploymentMode, now: Date): SuppressionEntry {
  const regime = regimeOf(row.country, row.region, mode);
  const decision = permits(purpose, { regime, minor: isMinor(row.birthDate, now), consents: row.consentStates }, false, now);
  const allowed = decision.effect === 'allow';
  const expiry = allowed
    ? (row.consentStates.find((s) => s.regime === regime && !s.sensitive && s.expiresAt !== null)?.expiresAt ?? null)
    : null;
  return {
    customerId: row.id,
    externalId: row.externalId,
    emailSha256: emailSha256(row.email),
    status: allowed ? 'CONTACTABLE' : 'SUPPRESSED',
    reason: allowed ? null : (decision.reason as MaskReason),
    contactableUntil: decision.reason === 'CONSENT' ? expiry : null,
  };
}

/**
 * A page of the suppressed subjects, in customer-id order after `afterId`.
 * Scans in chunks until `limit` entries are found; `endCursor` is the last
 * customer looked at, so the next page resumes exactly there.
 */
export async function suppressedPage(
  prisma: PrismaClient,
  purpose: PurposeDefinition,
  mode: DeploymentMode,
  now: Date,
  afterId: string | null,
  limit: number,
): Promise<{ entries: SuppressionEntry[]; endCursor: string | null; hasMore: boolean }> {
  const entries: SuppressionEntry[] = [];
  let cursor = afterId;
  for (;;) {
    const rows = (await prisma.customer.findMany({
      // Only subjects who made a choice for the purpose: one who never had a
      // basis for it was never sent to its consumers, who need not learn of them.
      where: { ...(cursor ? { id: { gt: cursor } } : {}), consentStates: { some: { purposeKey: purpose.key } } },
      orderBy: { id: 'asc' },
      take: SCAN_CHUNK,
      select: select(purpose.key),
    })) as Row[];
    for (const row of rows) {
      cursor = row.id;
      const entry = decideEntry(purpose, row, mode, now);
      if (entry.status === 'SUPPRESSED') entries.push(entry);
      if (entries.length === limit) return { entries, endCursor: cursor, hasMore: true };
    }
    if (rows.length < SCAN_CHUNK) return { entries, endCursor: cursor, hasMore: false };
  }
}

/** The current status of each given subject (those whose consent changed since a feed cursor). */
export async function statusOf(
  prisma: PrismaClient,
  purpose: PurposeDefinition,
  mode: DeploymentMode,
  now: Date,
  customerIds: readonly string[],
): Promise<SuppressionEntry[]> {
  if (customerIds.length === 0) return [];
  const rows = (await prisma.customer.findMany({
    where: { id: { in: [...customerIds] } },
    select: select(purpose.key),
  })) as Row[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  return customerIds.flatMap((id) => {
    const row = byId.get(id);
    return row ? [decideEntry(purpose, row, mode, now)] : [];
  });
}
