import { randomBytes } from 'node:crypto';
import { hashApiKey } from '../db/demo-clients.ts';

// API keys of registered clients: 32 random bytes, base64url, behind a prefix
// that makes them recognisable (secret scanners, logs, a key pasted into the
// wrong field). Only their SHA-256 is stored (api_client.key_hash); the key
// itself is shown once, to whoever created or rotated the client.

export { hashApiKey };

export const API_KEY_PREFIX = 'cq_';

export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}
