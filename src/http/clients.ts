import { createHash } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { ConsentQLError } from '../errors.ts';
import type { AuthenticatedClient } from '../schema/context.ts';

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Resolves `Authorization: Bearer <key>` to a registered client. Keys are
 * stored as sha256 digests; a found client is cached for the life of the
 * process (clients change rarely; restart to revoke), an unknown key is not,
 * so a newly registered client works at once.
 */
export function createClientDirectory(prisma: PrismaClient) {
  const cache = new Map<string, AuthenticatedClient>();

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
    const keyHash = createHash('sha256').update(match[1]).digest('hex');
    const cached = cache.get(keyHash);
    if (cached) return cached;
    const row = await prisma.apiClient.findUnique({ where: { keyHash } });
    if (!row) {
      throw new ConsentQLError(
        'UNAUTHENTICATED',
        'The API key is not registered (or was revoked). Check the key, or ask an admin to register the client.',
      );
    }
    const client: AuthenticatedClient = {
      id: row.id,
      name: row.name,
      role: row.role,
      allowedPurposes: row.allowedPurposes,
      canExplain: row.canExplain,
    };
    cache.set(keyHash, client);
    return client;
  };
}
