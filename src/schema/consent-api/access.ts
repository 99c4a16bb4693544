import { ConsentQLError } from '../../errors.ts';
import { findPurpose, PURPOSE_KEYS } from '../../policy/taxonomy.ts';
import type { PurposeDefinition } from '../../policy/types.ts';
import type { AuthenticatedClient, Context } from '../context.ts';
import { requireConsent } from '../subjects.ts';

/** The purpose of keeping and showing proof of consent: the consent center's and admins'. */
export const CONSENT_MANAGEMENT = 'consent_management';

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
 * The purposes whose changes a feed shows: the declared purpose's own, or,
 * for consent management (the consent center, admins), those asked for or all
 * (null). A consumer asking for another purpose is told to declare it.
 */
export function followedPurposes(ctx: Context, requested: readonly string[] | null | undefined, argument = 'purposes'): string[] | null {
  const { purpose } = requireConsent(ctx);
  for (const key of requested ?? []) knownPurpose(key, argument);
  if (purpose.key === CONSENT_MANAGEMENT) return requested && requested.length > 0 ? [...requested] : null;
  const other = requested?.find((key) => key !== purpose.key);
  if (other) {
    throw new ConsentQLError(
      'PURPOSE_NOT_ALLOWED',
      `${argument} asks for "${other}", but this request declared X-Purpose "${purpose.key}": a consumer follows the changes of ` +
        `the purpose it declares. Declare "${other}" (if this client is registered for it) in a separate request.`,
      { argument, received: other, declared: purpose.key },
    );
  }
  return [purpose.key];
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
