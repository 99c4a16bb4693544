import { createHash } from 'node:crypto';
import { ConsentQLError } from '../errors.ts';
import type { ConsentRequest } from './types.ts';

// Idempotency keys of consent requests. A key is an opaque string of the
// client's, matched exactly and per client (table consent_idempotency, see
// migration 20261130203000_idempotency_exact): never a pattern. The
// fingerprint of a request tells a retry (same key, same request: replay its
// events) from a key reused for another request (refused, nothing recorded).

/** What a request asks for, as far as a retry must repeat it. Proof (IP hash, user agent) may differ between retries. */
export type RequestChoice = Pick<ConsentRequest, 'purposes' | 'action' | 'source' | 'sensitive' | 'noticeVersion' | 'expiresAt'>;

export const FINGERPRINT_VERSION = 'consentql.idempotency.v1';

/**
 * The canonical form of a request: one line per field, in this order, joined
 * by "\n". Purposes are a set (sorted, byte order); the subject is our id,
 * however the request named it. Migration 20261130203000_idempotency_exact
 * computes the same string in SQL for the keys recorded before it: change
 * this only with a new FINGERPRINT_VERSION (and keep accepting the old one).
 */
export function canonicalRequest(subjectId: string, choice: RequestChoice): string {
  return [
    FINGERPRINT_VERSION,
    subjectId.toLowerCase(),
    [...choice.purposes].sort().join(','),
    choice.action,
    choice.source,
    choice.sensitive ? 'true' : 'false',
    choice.noticeVersion === null ? 'null' : JSON.stringify(choice.noticeVersion),
    choice.expiresAt === null ? 'null' : choice.expiresAt.toISOString(),
  ].join('\n');
}

/** SHA-256 (hex) of the canonical request. */
export function requestFingerprint(subjectId: string, choice: RequestChoice): string {
  return createHash('sha256').update(canonicalRequest(subjectId, choice), 'utf8').digest('hex');
}

/** The fields of an event that come from the request that recorded it. */
export interface RecordedChoice {
  customerId: string;
  purposeKey: string;
  action: string;
  source: string;
  sensitive: boolean;
  noticeVersion: string | null;
  expiresAt: Date | string | null;
}

type Field = 'subject' | 'purposes' | 'action' | 'source' | 'sensitive' | 'noticeVersion' | 'expiresAt';

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
const quoted = (s: string | null): string => (s === null ? 'none' : JSON.stringify(s));

/**
 * The refusal of a key already used by this client for another request: says
 * what the first request was, in which fields this one differs, and what to do.
 * `first` are the events the first request recorded, oldest first.
 */
export function keyReused(key: string, subjectId: string, choice: RequestChoice, first: readonly RecordedChoice[]): ConsentQLError {
  const was = first[0];
  const firstPurposes = first.map((e) => e.purposeKey);
  const describe: Record<Field, [string, string]> = {
    subject: [`customer ${was.customerId}`, `customer ${subjectId}`],
    purposes: [[...firstPurposes].sort().join(', '), [...choice.purposes].sort().join(', ')],
    action: [was.action, choice.action],
    source: [was.source, choice.source],
    sensitive: [was.sensitive ? 'sensitive data' : 'ordinary data', choice.sensitive ? 'sensitive data' : 'ordinary data'],
    noticeVersion: [quoted(was.noticeVersion), quoted(choice.noticeVersion)],
    expiresAt: [iso(was.expiresAt) ?? 'none', iso(choice.expiresAt) ?? 'none'],
  };
  const differs = (Object.keys(describe) as Field[]).filter((f) => describe[f][0] !== describe[f][1]);
  const firstRequest =
    `${was.action} of ${describe.purposes[0]} for customer ${was.customerId}, source ${was.source}, ${describe.sensitive[0]}, ` +
    `noticeVersion ${describe.noticeVersion[0]}, expiresAt ${describe.expiresAt[0]}`;
  const received =
    differs.length > 0
      ? `this request differs in ${differs.map((f) => `${f} (${describe[f][1]} instead of ${describe[f][0]})`).join(', ')}`
      : 'this request is not the same';
  return new ConsentQLError(
    'IDEMPOTENCY_KEY_REUSED',
    `idempotencyKey ${JSON.stringify(key)} was already used by this client for another request: a retry must repeat the first ` +
      `request (${firstRequest}), but ${received}. Nothing was recorded. Send a new idempotencyKey for a new request; ` +
      'reuse a key only to retry the very same request.',
    { argument: 'idempotencyKey', differs },
  );
}
