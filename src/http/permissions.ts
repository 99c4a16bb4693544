import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, deny, rule, shield } from 'graphql-shield';
import { ConsentQLError } from '../errors.ts';
import type { AuthenticatedClient, ClientRole, Context } from '../schema/context.ts';

// What each client may do, decided by graphql-shield and failing closed: a
// root field without a rule is denied. Rules sit on the root types only;
// below them the consent plugin decides field by field, synchronously, so
// nested fields do not pay for a promise each.

const forbidden = (what: string) => new ConsentQLError('FORBIDDEN', `${what} Ask an admin for access, or use a client registered for it.`);

const isAuthenticated = (ctx: Context) =>
  ctx.client ? true : new ConsentQLError('UNAUTHENTICATED', 'Authentication is required: send "Authorization: Bearer <api key>".');

const readsPersonalData = rule({ cache: 'contextual' })((_p, _a, ctx: Context) => {
  const auth = isAuthenticated(ctx);
  if (auth !== true) return auth;
  return ctx.consent ? true : new ConsentQLError('PURPOSE_REQUIRED', 'A declared purpose (X-Purpose header) is required.');
});

/** A rule admitting the given roles, refusing others with a message naming what is needed. */
const hasRole = (roles: readonly ClientRole[], what: string) =>
  rule({ cache: 'contextual' })((_p, _a, ctx: Context) => {
    const auth = isAuthenticated(ctx);
    if (auth !== true) return auth;
    const { name, role } = ctx.client!;
    return roles.includes(role) ? true : forbidden(`Client "${name}" has role ${role}; ${what} needs ${roles.join(' or ')}.`);
  });

const isAdmin = hasRole(['ADMIN'], 'this field');
/** Records consent for subjects and reads their proof: the consent center, CRM sync, admins. */
const recordsConsent = hasRole(['CONSENT_RECORDER', 'ADMIN'], 'recording consent');

/** Any authenticated client; the resolver confines the feed to the purposes the client is registered for. */
const followsConsent = rule({ cache: 'contextual' })((_p, _a, ctx: Context) => isAuthenticated(ctx));
/**
 * A live subscription outlives the check made when it opened: each event
 * checks the key again (a cache hit, read again at most once a second; see
 * src/http/clients.ts), so a client revoked, expired, rotated out or no longer
 * registered for the declared purpose stops receiving changes at once.
 */
const stillFollowsConsent = rule({ cache: 'no_cache' })(async (_p, _a, ctx: Context) => {
  const auth = isAuthenticated(ctx);
  if (auth !== true) return auth;
  let current: AuthenticatedClient;
  try {
    current = await ctx.authenticate(ctx.request?.headers.get('authorization') ?? null);
  } catch (error) {
    if (error instanceof ConsentQLError) return error;
    throw error;
  }
  const purpose = ctx.consent?.purpose.key;
  if (purpose && !current.allowedPurposes.includes(purpose)) {
    return new ConsentQLError(
      'PURPOSE_NOT_ALLOWED',
      `Client "${current.name}" is no longer registered for the purpose "${purpose}"; this subscription receives no more changes.`,
      { received: purpose, allowedPurposes: current.allowedPurposes },
    );
  }
  ctx.client = current;
  return true;
});
/** Any authenticated client; the resolver shows schema owners and admins every purpose, others only theirs. */
const readsDataMap = rule({ cache: 'contextual' })((_p, _a, ctx: Context) => isAuthenticated(ctx));

export const ROOT_RULES = {
  Query: {
    '*': deny,
    customer: readsPersonalData,
    customers: readsPersonalData,
    purposes: allow,
    dataMap: readsDataMap,
    consentHistory: recordsConsent,
    consentStatus: recordsConsent,
    consentChanges: followsConsent,
    suppressionList: followsConsent,
    webhookSubscriptions: isAdmin,
    webhookDeliveries: isAdmin,
    clients: isAdmin,
    clientAudit: isAdmin,
    extracts: isAdmin,
    subjectExtracts: isAdmin,
    subjectAccessRecords: isAdmin,
    accessRecords: isAdmin,
    subjectExport: isAdmin,
    erasure: isAdmin,
  },
  Mutation: {
    '*': deny,
    grantConsent: recordsConsent,
    withdrawConsent: recordsConsent,
    optOut: recordsConsent,
    optIn: recordsConsent,
    honourGlobalPrivacyControl: recordsConsent,
    createWebhookSubscription: isAdmin,
    deactivateWebhookSubscription: isAdmin,
    replayWebhookDelivery: isAdmin,
    createClient: isAdmin,
    updateClient: isAdmin,
    rotateClientKey: isAdmin,
    setClientExpiry: isAdmin,
    revokeClient: isAdmin,
    eraseSubject: isAdmin,
  },
  // Checked on each event's resolve; the subscribe step authenticates itself
  // (src/schema/consent-api/access.ts), as the shield does not wrap it.
  Subscription: {
    '*': deny,
    consentChanged: stillFollowsConsent,
  },
};

export function applyPermissions(schema: GraphQLSchema): GraphQLSchema {
  const permissions = shield(ROOT_RULES, {
    fallbackRule: deny,
    fallbackError: forbidden('This operation is not permitted for this client.'),
    allowExternalErrors: true,
  });
  const roots = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name),
  );
  const generated = permissions.generate(schema) as Record<string, unknown>;
  const rootOnly = Object.fromEntries(Object.entries(generated).filter(([type]) => roots.has(type)));
  return applyMiddleware(schema, rootOnly as never);
}
