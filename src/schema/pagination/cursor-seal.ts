import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { HmacKeyring } from '../../masking/index.ts';

// Cursors are sealed with AES-256-GCM under a key derived from the HMAC
// keyring, and bound to the client, purpose and order they were issued for.
// A client can neither read one (it holds the sort value of a row) nor forge
// one for a subject it never saw, nor carry one over to another purpose.

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CursorSeal {
  seal(values: readonly unknown[], binding: string): string;
  /** The sealed values, or null for anything this server did not issue for `binding`. */
  open(cursor: string, binding: string): unknown[] | null;
}

export function createCursorSeal(keyring: HmacKeyring): CursorSeal {
  // Every key of the ring opens cursors, so a key rotation does not break pages in flight.
  const keys = [keyring.current, ...keyring.previous].map((k) =>
    Buffer.from(hkdfSync('sha256', k.secret, 'consentql', 'consentql:cursor', 32)),
  );
  return {
    seal(values, binding) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keys[0], iv);
      cipher.setAAD(Buffer.from(binding, 'utf8'));
      const body = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(cursor, binding) {
      const raw = Buffer.from(cursor, 'base64url');
      if (raw.length <= IV_BYTES + TAG_BYTES || raw.length > 1024) return null;
      const iv = raw.subarray(0, IV_BYTES);
      const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
      const body = raw.subarray(IV_BYTES + TAG_BYTES);
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, iv);
          decipher.setAAD(Buffer.from(binding, 'utf8'));
          decipher.setAuthTag(tag);
          const values = JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8'));
          return Array.isArray(values) ? values : null;
        } catch {
          // Not this key (or not ours at all): try the next.
        }
      }
      return null;
    },
  };
}
