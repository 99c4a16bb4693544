import { ConsentQLError } from '../../errors.ts';
import { findPurpose, PURPOSE_KEYS } from '../../policy/taxonomy.ts';
import type { PurposeDefinition } from '../../policy/types.ts';
import type { AuthenticatedClient, Context } from '../context.ts';

// Consent changes say who chose what: a consuming app sees them only for the
// purposes it is registered for (an email platform: marketing), an admin for all.

export function clientOf(ctx: Context): AuthenticatedClient {
  if (!ctx.client) {
    throw new ConsentQLError('UNAUTHENTICATED', 'Authentication is required: send "Authorization: Bearer <api key>".');
  }
  return ctx.client;
}

export function knownPurpose(key: string, argument: string): PurposeDefinition {
  const purpose = findPurpose(key);
  if (!purpose) {
    throw new ConsentQLError(
      'UNKNOWN_PURPOSE',
      `${argument} "${key}" is not a purpose of the taxonomy; expected one of: ${PURPOSE_KEYS.join(', ')}.`,
      { argument, received: key, validPurposes: PURPOSE_KEYS },
    );
  }
  return purpose;
}

/**
 * The purposes a feed may show this client: those asked for, each known and
 * registered for the client; or, when none are asked for, all the client's
 * purposes (null = every purpose, for an admin).
 */
export function visiblePurposes(ctx: Context, requested: readonly string[] | null | undefined, argument = 'purposes'): string[] | null {
  const client = clientOf(ctx);
  const admin = client.role === 'ADMIN';
  if (!requested || requested.length === 0) return admin ? null : [...client.allowedPurposes];
  for (const key of requested) {
    knownPurpose(key, argument);
    if (!admin && !client.allowedPurposes.includes(key)) {
      throw new ConsentQLError(
        'PURPOSE_NOT_ALLOWED',
        `Client "${client.name}" is not registered for the purpose "${key}", so it cannot follow its consent changes; ` +
          `it may follow: ${client.allowedPurposes.join(', ') || 'none'}. Ask an admin to register the purpose for this client.`,
        { argument, received: key, allowedPurposes: client.allowedPurposes },
      );
    }
  }
  return [...requested];
}

/**
 * Subscriptions pass neither through Yoga's onExecute, where the purpose gate
 * authenticates every other operation, nor through the shield's wrapping of
 * `subscribe`: the subscribe step authenticates the subscriber itself.
 */
export async function authenticateSubscriber(ctx: Context): Promise<AuthenticatedClient> {
  if (ctx.client) return ctx.client;
  ctx.client = await ctx.authenticate(ctx.request?.headers.get('authorization') ?? null);
  return ctx.client;
}
