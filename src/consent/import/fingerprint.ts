import { createHash } from 'node:crypto';

// The idempotency of an import: the event id of the system it comes from is
// the key (consent_idempotency, per importing client), the fingerprint of the
// line's content tells a re-import of the same event (a duplicate, recorded
// once) from an event id reused for another event (a rejected line).

export const IMPORT_FINGERPRINT_VERSION = 'consentql.import.v1';

/** What an imported event records: the subject as our id, however the line named it. */
export interface EventFacts {
  customerId: string;
  purposeKey: string;
  purposeVersion: number;
  action: string;
  source: string;
  sensitive: boolean;
  noticeVersion: string | null;
  recordedAt: Date;
  expiresAt: Date | null;
  proofReference: string | null;
  ipHash: string | null;
  userAgent: string | null;
}

const json = (s: string | null) => (s === null ? 'null' : JSON.stringify(s));
const iso = (d: Date | null) => (d === null ? 'null' : d.toISOString());

/**
 * SHA-256 (hex) of one line per fact, in this order. Change it only with a
 * new IMPORT_FINGERPRINT_VERSION: a re-import must keep matching the keys
 * recorded before.
 */
export function importFingerprint(e: EventFacts): string {
  const canonical = [
    IMPORT_FINGERPRINT_VERSION,
    e.customerId.toLowerCase(),
    e.purposeKey,
    String(e.purposeVersion),
    e.action,
    e.source,
    e.sensitive ? 'true' : 'false',
    json(e.noticeVersion),
    iso(e.recordedAt),
    iso(e.expiresAt),
    json(e.proofReference),
    json(e.ipHash),
    json(e.userAgent),
  ].join('\n');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

type Described = Omit<EventFacts, 'ipHash' | 'userAgent'>;

/** The facts in which `line` differs from `first`, as "field (this instead of that)". */
export function differences(first: Described, line: Described): string[] {
  const shown = (field: keyof Described, e: Described): string => {
    const v = e[field];
    if (v instanceof Date) return v.toISOString();
    if (v === null) return 'none';
    return typeof v === 'string' && field !== 'action' && field !== 'source' ? JSON.stringify(v) : String(v);
  };
  const fields: (keyof Described)[] = [
    'customerId',
    'purposeKey',
    'purposeVersion',
    'action',
    'source',
    'sensitive',
    'noticeVersion',
    'recordedAt',
    'expiresAt',
    'proofReference',
  ];
  const names: Partial<Record<keyof Described, string>> = { customerId: 'subject', purposeKey: 'purpose' };
  return fields
    .filter((f) => shown(f, first) !== shown(f, line))
    .map((f) => `${names[f] ?? f} (${shown(f, line)} instead of ${shown(f, first)})`);
}
