import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';

// Proof of consent keeps who-clicked evidence without keeping the IP address:
// a keyed HMAC, because a plain hash of an IPv4 address is reversed by trying
// all 2^32 of them. The key is CONSENTQL_PROOF_KEY (src/config.ts), required
// in production; development runs on a public fallback.
const MAX_USER_AGENT = 512;

export interface Proof {
  ipHash: string | null;
  userAgent: string | null;
}

/** `hmac-sha256:<hex>` of the normalised address, or null when there is none. */
export function hashIp(ip: string | null | undefined, key: string): string | null {
  const normalised = normaliseIp(ip);
  if (!normalised) return null;
  return `hmac-sha256:${createHmac('sha256', key).update(normalised).digest('hex')}`;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what Node reports) hashes like the IPv4 it is. */
export function normaliseIp(ip: string | null | undefined): string | null {
  const trimmed = ip?.trim();
  if (!trimmed) return null;
  const unmapped = trimmed.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return isIP(unmapped) ? unmapped.toLowerCase() : null;
}

export function trimUserAgent(ua: string | null | undefined): string | null {
  const trimmed = ua?.trim();
  return trimmed ? trimmed.slice(0, MAX_USER_AGENT) : null;
}
