import type { HmacKey, HmacKeyring } from './types.ts';

export interface ParseHmacKeysOptions {
  production: boolean;
  /** Receives the warning when the development key is used. */
  log?: (message: string) => void;
  /** The variable's name, used in messages only. */
  envName?: string;
}

export const MIN_SECRET_LENGTH = 32;

/** Public on purpose: tokens made with it are pseudonyms in name only. */
export const DEV_KEY_ID = 'dev';
const DEV_SECRET = 'consentql-development-only-hmac-secret-never-use-in-production';

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses `kid1:secret1,kid0:secret0` (current key first, older keys after it
 * for rotation). In production a missing or short secret is fatal: tokens made
 * with a guessable key can be reversed by hashing candidate values. In
 * development the fixed `dev` key stands in, with a loud warning. Secrets are
 * never echoed in messages.
 */
export function parseHmacKeys(env: string | undefined, options: ParseHmacKeysOptions): HmacKeyring {
  const name = options.envName ?? 'CONSENTQL_HMAC_KEYS';
  const expected =
    `${name} must hold 'keyId:secret' pairs separated by commas, current key first, ` +
    `each key id made of letters, digits, '-' or '_', each secret at least ${MIN_SECRET_LENGTH} characters ` +
    `(for example ${name}=k1:$(openssl rand -base64 32))`;

  if (env === undefined || env.trim() === '') {
    if (options.production) {
      throw new Error(`${expected}, but it is not set. Set it before starting in production.`);
    }
    options.log?.(
      `WARNING: ${name} is not set; hmac masks use the public development key '${DEV_KEY_ID}'. ` +
        `Their tokens can be reversed by anyone. Set ${name} before handling real data.`,
    );
    return { current: { id: DEV_KEY_ID, secret: Buffer.from(DEV_SECRET, 'utf8') }, previous: [] };
  }

  const keys: HmacKey[] = [];
  for (const [index, entry] of env.split(',').entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon).trim();
    const secret = colon < 0 ? '' : entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) {
      throw new Error(`${expected}, but entry ${index + 1} has ${colon < 0 ? 'no ":"' : `key id ${JSON.stringify(id)}`}.`);
    }
    if (keys.some((k) => k.id === id)) {
      throw new Error(`${expected}, but key id '${id}' appears twice. Give each key its own id.`);
    }
    if (secret.length < MIN_SECRET_LENGTH) {
      const received = `key '${id}' has a ${secret.length}-character secret`;
      if (options.production) {
        throw new Error(`${expected}, but ${received}. Generate a longer secret.`);
      }
      options.log?.(`WARNING: ${received}; that is too short for production (${MIN_SECRET_LENGTH} characters at least).`);
    }
    keys.push({ id, secret: Buffer.from(secret, 'utf8') });
  }
  const [current, ...previous] = keys;
  return { current, previous };
}
