import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, deny, rule, shield } from 'graphql-shield';
import { ConsentQLError } from '../errors.ts';
import type { Context } from '../schema/context.ts';

// What each client may do, decided by graphql-shield and failing closed: a
// root field without a rule is denied. Rules sit on the root types only;
// below them the consent plugin decides field by field, synchronously, so
// nested fields do not pay for a promise each.

const forbidden = (what: string) =>
  new ConsentQLError('FORBIDDEN', `${what} Ask an admin for access, or use a client registered for it.`);

const isAuthenticated = (ctx: Context) =>
  ctx.client ? true : new ConsentQLError('UNAUTHENTICATED', 'Authentication is required: send "Authorization: Bearer <api key>".');

const readsPersonalData = rule({ cache: 'contextual' })((_p, _a, ctx: Context) => {
  const auth = isAuthenticated(ctx);
  if (auth !== true) return auth;
  return ctx.consent ? true : new ConsentQLError('PURPOSE_REQUIRED', 'A declared purpose (X-Purpose header) is required.');
});

const isSchemaOwner = rule({ cache: 'contextual' })((_p, _a, ctx: Context) => {
  const auth = isAuthenticated(ctx);
  if (auth !== true) return auth;
  return ctx.client!.role === 'SCHEMA_OWNER' || ctx.client!.role === 'ADMIN'
    ? true
    : forbidden(`Client "${ctx.client!.name}" has role ${ctx.client!.role}; this field needs SCHEMA_OWNER or ADMIN.`);
});

export const ROOT_RULES = {
  Query: {
    '*': deny,
    customer: readsPersonalData,
    customers: readsPersonalData,
    purposes: allow,
    dataMap: isSchemaOwner,
  },
};

export function applyPermissions(schema: GraphQLSchema): GraphQLSchema {
  const permissions = shield(ROOT_RULES, {
    fallbackRule: deny,
    fallbackError: forbidden('This operation is not permitted for this client.'),
    allowExternalErrors: true,
  });
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name));
  const generated = permissions.generate(schema) as Record<string, unknown>;
  const rootOnly = Object.fromEntries(Object.entries(generated).filter(([type]) => roots.has(type)));
  return applyMiddleware(schema, rootOnly as never);
}
