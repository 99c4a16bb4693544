import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { HmacKeyring } from './types.ts';

/** 22 base64url characters: 132 bits of the digest, ample against collisions in one data set. */
const TOKEN_CHARS = 22;

/** Bounds the memory of the token cache; at 50k entries it stays a few MB. */
export const TOKEN_CACHE_SIZE = 50_000;

export type Tokenizer = (value: string, purposeKey: string) => string;

/**
 * Keyed pseudonyms, `hmac:<keyId>:<digest>`. Each purpose signs with its own
 * key derived from the secret (HKDF, info `consentql:purpose:<key>`), so the
 * tokens one purpose sees cannot be joined with another purpose's. Derived
 * keys and tokens are cached because an uncached HMAC per field halves the
 * request rate.
 */
export function createTokenizer(keyring: HmacKeyring, cacheSize = TOKEN_CACHE_SIZE): Tokenizer {
  const { id, secret } = keyring.current;
  const prefix = `hmac:${id}:`;
  /** Per purpose: its derived key, and its tokens by value (no key string built per lookup). */
  const purposes = new Map<string, { key: KeyObject; tokens: Map<string, string> }>();
  let cached = 0;

  const purposeFor = (purposeKey: string) => {
    let entry = purposes.get(purposeKey);
    if (!entry) {
      // A KeyObject, not a Buffer: Node 24 prepares a Buffer key on every createHmac, about ten times the cost of the HMAC itself.
      const key = createSecretKey(Buffer.from(hkdfSync('sha256', secret, 'consentql', `consentql:purpose:${purposeKey}`, 32)));
      entry = { key, tokens: new Map() };
      purposes.set(purposeKey, entry);
    }
    return entry;
  };

  return (value, purposeKey) => {
    const { key, tokens } = purposeFor(purposeKey);
    const hit = tokens.get(value);
    if (hit !== undefined) return hit;
    const digest = createHmac('sha256', key).update(value, 'utf8').digest('base64url');
    const token = prefix + digest.slice(0, TOKEN_CHARS);
    // No cache: values that come once each (a bulk extract's subjects) would only churn it.
    if (cacheSize === 0) return token;
    if (cached >= cacheSize) {
      // Full: start over; a cold cache costs one HMAC per value, once.
      for (const entry of purposes.values()) entry.tokens.clear();
      cached = 0;
    }
    tokens.set(value, token);
    cached += 1;
    return token;
  };
}
