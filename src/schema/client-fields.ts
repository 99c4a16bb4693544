import {
  CLIENT_ROLES,
  clientActor,
  clientAudit,
  createClient,
  DEFAULT_OVERLAP_SECONDS,
  listClients,
  revokeClient,
  rotateClientKey,
  setClientExpiry,
  updateClient,
  type AuditEntry,
  type ClientRecord,
  type IssuedKey,
} from '../clients/manage.ts';
import { builder } from './builder.ts';
import { clientOf } from './consent-api/access.ts';

// API clients and their keys: admin only (src/http/permissions.ts). The
// operations live in src/clients/manage.ts, shared with `npm run client`.
// Nothing here returns a key hash; a key is returned once, by the mutation
// that issues it.

const ClientRoleEnum = builder.enumType('ClientRole', {
  description: 'What a client may do: read for its purposes (CONSUMER), record consent, own the schema, or administer.',
  values: CLIENT_ROLES,
});

const ClientStatusEnum = builder.enumType('ClientStatus', {
  description: 'ACTIVE: its key works. EXPIRED: past expiresAt. REVOKED: revoked for good.',
  values: ['ACTIVE', 'EXPIRED', 'REVOKED'] as const,
});

const ClientAuditActionEnum = builder.enumType('ClientAuditAction', {
  values: ['CREATE', 'UPDATE', 'ROTATE_KEY', 'SET_EXPIRY', 'REVOKE'] as const,
});

const ApiClientRef = builder.objectRef<ClientRecord>('ApiClient').implement({
  description: 'A registered API client. Its key is never shown again after it was issued; only its SHA-256 is stored.',
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false }),
    name: t.exposeString('name', { nullable: false }),
    role: t.field({ type: ClientRoleEnum, nullable: false, resolve: (c) => c.role }),
    allowedPurposes: t.exposeStringList('allowedPurposes', { nullable: false, description: 'The purposes it may declare in X-Purpose.' }),
    canExplain: t.exposeBoolean('canExplain', {
      nullable: false,
      description: 'May ask for per-path masking reasons (X-Consent-Explain: 1).',
    }),
    status: t.field({ type: ClientStatusEnum, nullable: false, resolve: (c) => c.status }),
    expiresAt: t.field({ type: 'DateTime', resolve: (c) => c.expiresAt }),
    revokedAt: t.field({ type: 'DateTime', resolve: (c) => c.revokedAt }),
    previousKeyExpiresAt: t.field({
      type: 'DateTime',
      description: 'After a rotation: until when the previous key still works (null: it no longer does).',
      resolve: (c) => c.previousKeyExpiresAt,
    }),
    createdAt: t.field({ type: 'DateTime', nullable: false, resolve: (c) => c.createdAt }),
    updatedAt: t.field({ type: 'DateTime', nullable: false, resolve: (c) => c.updatedAt }),
    createdBy: t.id({ description: 'The admin client that created it (null: seeded, or `npm run client`).', resolve: (c) => c.createdBy }),
    updatedBy: t.id({
      description: 'The admin client that changed it last (null: seeded, or `npm run client`).',
      resolve: (c) => c.updatedBy,
    }),
  }),
});

const IssuedClientKeyRef = builder.objectRef<IssuedKey>('IssuedClientKey').implement({
  description: "A client with its new API key. The key is shown this once: hand it to the client's owner now.",
  fields: (t) => ({
    client: t.field({ type: ApiClientRef, nullable: false, resolve: (r) => r.client }),
    apiKey: t.exposeString('apiKey', {
      nullable: false,
      description: 'Send as "Authorization: Bearer <apiKey>". Not stored, not shown again.',
    }),
  }),
});

const ClientFieldChangeRef = builder.objectRef<AuditEntry['changes'][number]>('ClientFieldChange').implement({
  description: 'One changed field of an audited client change; values as JSON.',
  fields: (t) => ({
    field: t.exposeString('field', { nullable: false }),
    from: t.string({
      description: 'The value before, as JSON (null on creation).',
      resolve: (c) => (c.from == null ? null : JSON.stringify(c.from)),
    }),
    to: t.string({ description: 'The value after, as JSON.', resolve: (c) => (c.to == null ? null : JSON.stringify(c.to)) }),
  }),
});

const ClientAuditEntryRef = builder.objectRef<AuditEntry>('ClientAuditEntry').implement({
  description: 'One change to an API client: who made it, what, to which client, when. Never a key or a hash.',
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false }),
    action: t.field({ type: ClientAuditActionEnum, nullable: false, resolve: (e) => e.action }),
    clientId: t.exposeID('clientId', { nullable: false }),
    clientName: t.exposeString('clientName', { nullable: false }),
    actorClientId: t.id({
      description: 'The admin client that made the change (null: `npm run client`).',
      resolve: (e) => e.actorClientId,
    }),
    actor: t.exposeString('actor', { nullable: false }),
    changes: t.field({ type: [ClientFieldChangeRef], nullable: false, resolve: (e) => e.changes }),
    occurredAt: t.field({ type: 'DateTime', nullable: false, resolve: (e) => e.occurredAt }),
  }),
});

builder.queryFields((t) => ({
  clients: t.field({
    type: [ApiClientRef],
    nullable: false,
    description: 'Every registered API client, by name (never a key or a hash).',
    args: { status: t.arg({ type: ClientStatusEnum }) },
    resolve: (_root, args, ctx) => listClients(ctx.db, { status: args.status }),
  }),
  clientAudit: t.field({
    type: [ClientAuditEntryRef],
    nullable: false,
    description: 'Changes to API clients, newest first.',
    args: { clientId: t.arg.id(), first: t.arg.int({ defaultValue: 50 }) },
    resolve: (_root, args, ctx) =>
      clientAudit(ctx.db, { clientId: args.clientId == null ? null : String(args.clientId), first: args.first }),
  }),
}));

builder.mutationFields((t) => ({
  createClient: t.field({
    type: IssuedClientKeyRef,
    nullable: false,
    description: 'Registers an API client and returns its key, once.',
    args: {
      name: t.arg.string({ required: true }),
      role: t.arg({ type: ClientRoleEnum, required: true }),
      allowedPurposes: t.arg.stringList({ required: true }),
      canExplain: t.arg.boolean({ defaultValue: false }),
      expiresAt: t.arg({ type: 'DateTime', description: 'When the key stops working (default: never).' }),
    },
    resolve: (_root, args, ctx) => createClient(ctx.db, clientActor(clientOf(ctx)), args),
  }),
  updateClient: t.field({
    type: ApiClientRef,
    nullable: false,
    description: 'Changes what a client may do; in effect on every instance from its next request.',
    args: {
      id: t.arg.id({ required: true }),
      allowedPurposes: t.arg.stringList(),
      canExplain: t.arg.boolean(),
      role: t.arg({ type: ClientRoleEnum }),
    },
    resolve: (_root, args, ctx) =>
      updateClient(ctx.db, clientActor(clientOf(ctx)), String(args.id), {
        allowedPurposes: args.allowedPurposes,
        canExplain: args.canExplain,
        role: args.role,
      }),
  }),
  rotateClientKey: t.field({
    type: IssuedClientKeyRef,
    nullable: false,
    description: 'Issues a new key, returned once; the old one keeps working for overlapSeconds (0: stops at once).',
    args: {
      id: t.arg.id({ required: true }),
      overlapSeconds: t.arg.int({ defaultValue: DEFAULT_OVERLAP_SECONDS }),
    },
    resolve: (_root, args, ctx) =>
      rotateClientKey(ctx.db, clientActor(clientOf(ctx)), String(args.id), args.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS),
  }),
  setClientExpiry: t.field({
    type: ApiClientRef,
    nullable: false,
    description: "When the client's key stops working (null: never). To stop it now, revoke the client.",
    args: { id: t.arg.id({ required: true }), expiresAt: t.arg({ type: 'DateTime' }) },
    resolve: (_root, args, ctx) => setClientExpiry(ctx.db, clientActor(clientOf(ctx)), String(args.id), args.expiresAt ?? null),
  }),
  revokeClient: t.field({
    type: ApiClientRef,
    nullable: false,
    description: "Stops the client's keys on every instance, at once and for good.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => revokeClient(ctx.db, clientActor(clientOf(ctx)), String(args.id)),
  }),
}));
