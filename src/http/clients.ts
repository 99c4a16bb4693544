import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import { watchClientChanges } from '../clients/changes.ts';
import type { AuthenticatedClient } from '../schema/context.ts';

const BEARER = /^Bearer\s+(\S+)$/i;

/** The longest a cached client goes without being read again (a fallback: changes are announced; src/clients/changes.ts). */
export const CLIENT_CACHE_TTL_MS = 1000;

// One message for every key that does not work: unknown, revoked, expired, or
// rotated out after its overlap. Telling them apart would tell a holder of a
// leaked or guessed key that it once was valid.
const KEY_REFUSED = 'The API key is not valid: it is unknown, revoked or expired. Check the key, or ask an admin for a current one.';

// Times as UTC instants (the columns are timestamp without time zone, in UTC).
// An index probe on key_hash or previous_key_hash, both unique.
const LOOKUP = `
  SELECT "id", "name", "role"::text AS "role", "allowed_purposes", "can_explain",
         "key_hash" = $1 AS "current",
         "revoked_at" IS NOT NULL AS "revoked",
         "expires_at" AT TIME ZONE 'UTC' AS "expires_at",
         "previous_key_expires_at" AT TIME ZONE 'UTC' AS "previous_key_expires_at"
    FROM "api_client"
   WHERE "key_hash" = $1 OR "previous_key_hash" = $1
   ORDER BY "current" DESC
   LIMIT 1`;

interface Entry {
  client: AuthenticatedClient;
  /** Epoch ms from which this key is refused (client expiry, end of a rotation's overlap); null: never. */
  refusedFrom: number | null;
  /** Epoch ms of the read this entry comes from. */
  readAt: number;
}

export interface ClientDirectoryOptions {
  logger?: Logger;
  /** How long a cached client is trusted without reading it again (default CLIENT_CACHE_TTL_MS). */
  ttlMs?: number;
}

/**
 * Resolves `Authorization: Bearer <key>` to a registered client. Keys are
 * stored as sha256 digests, looked up with one indexed query (as the current
 * or, during a rotation's overlap, the previous key) and cached. The cache is
 * dropped whenever a client change commits on any instance (NOTIFY, see
 * src/clients/changes.ts), and an entry is read again after `ttlMs` in case a
 * notification was missed: a revoked key stops working within a second at
 * most. Expiries are checked on every request, cached or not. An unknown key
 * is never cached, so a newly created client works at once.
 *
 * The lookup goes through the pool as raw SQL, not Prisma: it is one statement
 * per key and second, not part of what a request reads.
 */
export function createClientDirectory(db: Database, options: ClientDirectoryOptions = {}) {
  const ttl = options.ttlMs ?? CLIENT_CACHE_TTL_MS;
  const cache = new Map<string, Entry>();
  const pending = new Map<string, Promise<Entry | null>>();
  // Bumped by every invalidation: a read that started before one is not cached.
  let generation = 0;
  let watching = false;

  const invalidate = () => {
    generation++;
    cache.clear();
    pending.clear();
  };

  const lookup = (keyHash: string): Promise<Entry | null> => {
    let found = pending.get(keyHash);
    if (found) return found;
    const started = generation;
    found = (async () => {
      const readAt = Date.now();
      const { rows } = await db.pool.query(LOOKUP, [keyHash]);
      const row = rows[0];
      if (!row || row.revoked) return null;
      // A previous key is accepted only until the end of its overlap.
      if (!row.current && !(row.previous_key_expires_at instanceof Date)) return null;
      const ends = [row.expires_at, row.current ? null : row.previous_key_expires_at].filter((d): d is Date => d instanceof Date);
      const entry: Entry = {
        client: {
          id: row.id,
          name: row.name,
          role: row.role,
          allowedPurposes: row.allowed_purposes,
          canExplain: row.can_explain,
        },
        refusedFrom: ends.length > 0 ? Math.min(...ends.map((d) => d.getTime())) : null,
        readAt,
      };
      if (generation === started) cache.set(keyHash, entry);
      return entry;
    })().finally(() => {
      if (pending.get(keyHash) === found) pending.delete(keyHash);
    });
    pending.set(keyHash, found);
    return found;
  };

  return async function authenticate(header: string | null): Promise<AuthenticatedClient> {
    const match = header ? BEARER.exec(header.trim()) : null;
    if (!match) {
      throw new ConsentQLError(
        'UNAUTHENTICATED',
        header
          ? 'The Authorization header must be "Bearer <api key>", but it has another form. Send the key of a registered client.'
          : 'Authentication is required: send "Authorization: Bearer <api key>" with the key of a registered client.',
      );
    }
    if (!watching) {
      watching = true;
      watchClientChanges(db, invalidate, options.logger);
    }
    const keyHash = createHash('sha256').update(match[1]).digest('hex');
    const now = Date.now();
    let entry = cache.get(keyHash);
    if (!entry || now - entry.readAt >= ttl) {
      cache.delete(keyHash);
      entry = (await lookup(keyHash)) ?? undefined;
    }
    if (!entry || (entry.refusedFrom !== null && Date.now() >= entry.refusedFrom)) {
      throw new ConsentQLError('UNAUTHENTICATED', KEY_REFUSED);
    }
    return entry.client;
  };
}
