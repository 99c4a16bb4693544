import { createHmac, hkdfSync } from 'node:crypto';
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
  const purposeKeys = new Map<string, Buffer>();
  const tokens = new Map<string, string>();

  const keyFor = (purposeKey: string): Buffer => {
    let key = purposeKeys.get(purposeKey);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', secret, 'consentql', `consentql:purpose:${purposeKey}`, 32));
      purposeKeys.set(purposeKey, key);
    }
    return key;
  };

  return (value, purposeKey) => {
    // NUL cannot occur in a purpose key, so the cache key is unambiguous.
    const cacheKey = `${purposeKey}\u0000${value}`;
    const cached = tokens.get(cacheKey);
    if (cached !== undefined) return cached;
    const digest = createHmac('sha256', keyFor(purposeKey)).update(value, 'utf8').digest('base64url');
    const token = prefix + digest.slice(0, TOKEN_CHARS);
    // Maps iterate in insertion order, so the first key is the oldest: O(1) eviction.
    if (tokens.size >= cacheSize) tokens.delete(tokens.keys().next().value!);
    tokens.set(cacheKey, token);
    return token;
  };
}
