import { isIP } from 'node:net';
import { ConsentQLError } from '../../errors.ts';
import { hashIp, trimUserAgent } from '../../consent/proof.ts';
import { clientAddressOf } from '../../http/trusted-proxies.ts';
import type { Context } from '../context.ts';
import { builder } from '../builder.ts';
import { ConsentSourceEnum } from './types.ts';

export const SubjectInput = builder.inputType('SubjectInput', {
  description: 'The data subject: exactly one of our customer id or the CRM id.',
  fields: (t) => ({
    id: t.id({ description: 'The customer id (UUID).' }),
    externalId: t.string({ description: 'The CRM id, e.g. "CRM-000123".' }),
  }),
});

export const ConsentProofInput = builder.inputType('ConsentProofInput', {
  description:
    'Evidence of who made the choice, when it was captured elsewhere (a CRM, a backend relaying the consent center). ' +
    'Without it the request itself is the evidence. The IP address is hashed with a server key before storage.',
  fields: (t) => ({
    ipAddress: t.string(),
    userAgent: t.string(),
  }),
});

export const ConsentChoiceInput = builder.inputType('ConsentChoiceInput', {
  fields: (t) => ({
    subject: t.field({ type: SubjectInput, required: true }),
    purposes: t.stringList({ required: true, description: 'One or more purpose keys that take consent, e.g. ["marketing", "analytics"].' }),
    source: t.field({ type: ConsentSourceEnum, required: true }),
    noticeVersion: t.string({ description: 'The privacy notice version shown to the subject; required for a grant or opt-in.' }),
    // A string rather than DateTime: a malformed value then gets a coded
    // BAD_USER_INPUT from us instead of the scalar's unmasked TypeError.
    expiresAt: t.string({ description: 'ISO-8601 date and time (e.g. "2027-06-30T00:00:00Z") at which a grant or opt-in lapses.' }),
    sensitive: t.boolean({ defaultValue: false, description: 'The choice covers special-category (sensitive) data.' }),
    proof: t.field({ type: ConsentProofInput }),
    idempotencyKey: t.string({ description: 'Retrying with the same key records once and returns the first result.' }),
  }),
});

export interface ProofFields {
  ipAddress?: string | null;
  userAgent?: string | null;
}

/**
 * Hashed IP and user agent: from `proof` when given, else from the HTTP
 * request: its socket peer, and X-Forwarded-For only from a trusted proxy
 * (CONSENTQL_TRUSTED_PROXIES; src/http/trusted-proxies.ts, as the consent center).
 */
export function proofOf(ctx: Context, proof: ProofFields | null | undefined): { ipHash: string | null; userAgent: string | null } {
  if (proof) {
    if (proof.ipAddress != null && !isIP(proof.ipAddress.trim())) {
      throw new ConsentQLError(
        'BAD_USER_INPUT',
        `proof.ipAddress expects an IPv4 or IPv6 address, but got ${JSON.stringify(proof.ipAddress)}. Omit it if unknown.`,
        { argument: 'proof.ipAddress' },
      );
    }
    return { ipHash: hashIp(proof.ipAddress, ctx.proofKey), userAgent: trimUserAgent(proof.userAgent) };
  }
  return {
    ipHash: hashIp(clientAddressOf(ctx), ctx.proofKey),
    userAgent: trimUserAgent(ctx.request?.headers.get('user-agent')),
  };
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses `expiresAt`; a malformed value is a coded error that shows an example. */
export function parseExpiry(value: string | null | undefined): Date | null {
  if (value == null || value.trim() === '') return null;
  const date = new Date(value.trim());
  if (!ISO_DATE_TIME.test(value.trim()) || Number.isNaN(date.getTime()) || !isCalendarDate(value.trim())) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `expiresAt expects an ISO-8601 date and time such as "2027-06-30T00:00:00Z", but got ${JSON.stringify(value)}. ` +
        'Send a future date, or omit it for consent without an end date.',
      { argument: 'expiresAt', received: value },
    );
  }
  return date;
}

/** Date rolls 2027-02-31 over to March 3rd; a consent expiry must not. */
function isCalendarDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** The request carries the Global Privacy Control signal. */
export function gpcSignal(ctx: Context): boolean {
  return ctx.request?.headers.get('sec-gpc')?.trim() === '1';
}
