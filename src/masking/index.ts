import { createTokenizer } from './hmac.ts';
import { REDACTED, generalizePrefix, generalizeRegion, generalizeYear, partialEmail, partialPhone, partialText } from './strategies.ts';
import type { HmacKeyring, MaskSpec, Masker } from './types.ts';

export type { HmacKey, HmacKeyring, MaskSpec, MaskStrategy, MaskableType, Masker } from './types.ts';
export { maskFitsType } from './fits.ts';
export { parseHmacKeys, DEV_KEY_ID, MIN_SECRET_LENGTH, type ParseHmacKeysOptions } from './keyring.ts';
export { TOKEN_CACHE_SIZE } from './hmac.ts';
export { REDACTED } from './strategies.ts';

/**
 * A masker for one keyring; create it once per process so that its token
 * cache is shared by all requests. Values of a shape a mask does not expect
 * (a number where a string belongs, an unknown strategy) mask to null.
 * `tokenCacheSize: 0` keeps no cache, for values that come once each (a bulk extract's subjects).
 */
export function createMasker(keyring: HmacKeyring, options: { tokenCacheSize?: number } = {}): Masker {
  const tokenize = createTokenizer(keyring, options.tokenCacheSize);
  return {
    apply(spec, value, purposeKey) {
      if (value === null || value === undefined) return null;
      switch (spec.strategy) {
        case 'redact':
          return Array.isArray(value) ? [REDACTED] : REDACTED;
        case 'hmac':
          return typeof value === 'string' ? tokenize(value, purposeKey) : null;
        case 'partial':
          return typeof value === 'string' ? partial(spec.kind, value) : null;
        case 'generalize':
          return generalize(spec, value);
        default:
          return null;
      }
    },
    // Domain-separated from the field tokens, so an id never tokenises like a value would.
    pseudonym: (subjectId, purposeKey) => tokenize(`subject:${subjectId}`, purposeKey),
  };
}

function partial(kind: Extract<MaskSpec, { strategy: 'partial' }>['kind'], value: string): string | null {
  switch (kind) {
    case 'email':
      return partialEmail(value);
    case 'phone':
      return partialPhone(value);
    case 'text':
      return partialText(value);
    default:
      return null;
  }
}

function generalize(spec: Extract<MaskSpec, { strategy: 'generalize' }>, value: unknown): string | null {
  if (spec.kind === 'year') return generalizeYear(value);
  if (typeof value !== 'string') return null;
  if (spec.kind === 'prefix') return generalizePrefix(value, spec.length);
  if (spec.kind === 'region') return generalizeRegion(value);
  return null;
}
