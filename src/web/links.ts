import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HmacKey, HmacKeyring } from '../masking/types.ts';

// Signed links into the consent center, as sent in emails:
//
//   /consent-center?token=<payload>.<keyId>.<signature>
//   payload   = base64url("<customerId>.<expiry in unix seconds>")
//   signature = base64url(HMAC-SHA-256(linkKey, "cc1.<keyId>.<payload>"))
//
// The link key is derived from the HMAC keyring's secret with HKDF and its own
// info string, so a link signature can never equal a mask token or a form
// token made from the same secret. The key id names the secret that signed:
// links made before a key rotation keep working while the old key stays in
// the keyring's `previous` list. The payload is signed, not encrypted: it
// holds our customer UUID, which says nothing about the person.

/** How long an emailed link works unless the caller says otherwise. */
export const DEFAULT_LINK_DAYS = 30;

const LINK_INFO = 'consentql:consent-center-link';
const FORM_INFO = 'consentql:consent-center-form';
const VERSION = 'cc1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const B64URL = /^[A-Za-z0-9_-]+$/;
/** Far above any real token; refuses absurd input before any decoding. */
const MAX_TOKEN_LENGTH = 512;

export type LinkRefusal = 'MALFORMED' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' | 'EXPIRED';

export type LinkCheck = { valid: true; customerId: string; expiresAt: Date; keyId: string } | { valid: false; reason: LinkRefusal };

const derived = new WeakMap<Buffer, Map<string, Buffer>>();

/** HKDF of one secret for one use, cached per secret (the keyring lives as long as the server). */
function deriveKey(key: HmacKey, info: string): Buffer {
  let byInfo = derived.get(key.secret);
  if (!byInfo) {
    byInfo = new Map();
    derived.set(key.secret, byInfo);
  }
  let out = byInfo.get(info);
  if (!out) {
    out = Buffer.from(hkdfSync('sha256', key.secret, 'consentql', info, 32));
    byInfo.set(info, out);
  }
  return out;
}

function sign(key: HmacKey, info: string, message: string): string {
  return createHmac('sha256', deriveKey(key, info)).update(message, 'utf8').digest('base64url');
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function keyById(keyring: HmacKeyring, id: string): HmacKey | undefined {
  return [keyring.current, ...keyring.previous].find((k) => k.id === id);
}

/** A link token for `customerId` that stops working at `expiresAt` (whole seconds). */
export function createLinkToken(keyring: HmacKeyring, customerId: string, expiresAt: Date): string {
  if (!UUID.test(customerId)) {
    throw new Error(
      `createLinkToken expects a customer UUID, but got ${JSON.stringify(customerId)}. Look the customer up by external id first.`,
    );
  }
  const seconds = Math.floor(expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(seconds)) {
    throw new Error(`createLinkToken expects a valid expiry date, but got ${String(expiresAt)}.`);
  }
  const payload = Buffer.from(`${customerId.toLowerCase()}.${seconds}`, 'utf8').toString('base64url');
  const { id } = keyring.current;
  return `${payload}.${id}.${sign(keyring.current, LINK_INFO, `${VERSION}.${id}.${payload}`)}`;
}

/** The expiry of a link made at `now` that lasts `days` days. */
export function linkExpiry(now: Date, days = DEFAULT_LINK_DAYS): Date {
  return new Date(now.getTime() + days * 86_400_000);
}

/**
 * Checks the signature before anything else, so that "expired" is only ever
 * said of a link we made; everything else is MALFORMED, UNKNOWN_KEY or
 * BAD_SIGNATURE, and the caller shows the same page for all of them.
 */
export function verifyLinkToken(keyring: HmacKeyring, token: string | null | undefined, now: Date): LinkCheck {
  if (!token || token.length > MAX_TOKEN_LENGTH) return { valid: false, reason: 'MALFORMED' };
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return { valid: false, reason: 'MALFORMED' };
  const [payload, keyId, signature] = parts;
  const key = keyById(keyring, keyId);
  if (!key) return { valid: false, reason: 'UNKNOWN_KEY' };
  if (!sameSignature(signature, sign(key, LINK_INFO, `${VERSION}.${keyId}.${payload}`))) {
    return { valid: false, reason: 'BAD_SIGNATURE' };
  }
  const decoded = Buffer.from(payload, 'base64url').toString('utf8');
  const dot = decoded.lastIndexOf('.');
  const customerId = decoded.slice(0, dot);
  const seconds = Number(decoded.slice(dot + 1));
  if (dot < 0 || !UUID.test(customerId) || !Number.isSafeInteger(seconds)) return { valid: false, reason: 'MALFORMED' };
  const expiresAt = new Date(seconds * 1000);
  if (!(expiresAt.getTime() > now.getTime())) return { valid: false, reason: 'EXPIRED' };
  return { valid: true, customerId, expiresAt, keyId };
}

/** `<base>/consent-center?token=…` */
export function consentCenterUrl(baseUrl: string | URL, token: string): string {
  const url = new URL('/consent-center', baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}

// Form tokens, the CSRF defence of the page's POSTs: a random nonce, signed
// together with the subject it was rendered for, under a key of their own.
// A cross-site page can neither read one nor make one. The nonce doubles as
// the idempotency key of the submission, so a double submit records once.

/** `<nonce>.<signature>` for one rendered form of one subject. */
export function createFormToken(keyring: HmacKeyring, customerId: string, nonce = randomBytes(16).toString('base64url')): string {
  return `${nonce}.${sign(keyring.current, FORM_INFO, `${customerId.toLowerCase()}.${nonce}`)}`;
}

/** The form's nonce when `token` was made for `customerId` with a key of the keyring, else null. */
export function verifyFormToken(keyring: HmacKeyring, customerId: string, token: string | null | undefined): string | null {
  if (!token || token.length > 200) return null;
  const parts = token.split('.');
  if (parts.length !== 2 || !parts.every((p) => B64URL.test(p))) return null;
  const [nonce, signature] = parts;
  const message = `${customerId.toLowerCase()}.${nonce}`;
  const ok = [keyring.current, ...keyring.previous].some((k) => sameSignature(signature, sign(k, FORM_INFO, message)));
  return ok ? nonce : null;
}
