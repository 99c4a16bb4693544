import type { ConsentEvent, WebhookDelivery, WebhookSubscription } from '../../generated/prisma/client.ts';
import type { GpcOutcome } from '../../consent/types.ts';
import type { PurposeStatus } from '../../consent/history.ts';
import type { ConsentChange } from '../../propagation/changes.ts';
import type { SuppressionEntry } from '../../propagation/suppression.ts';
import { builder } from '../builder.ts';

// Output types of the consent API. Ids of ledger rows are 64-bit integers,
// exposed as strings (ID) so no client loses precision.

export const ConsentActionEnum = builder.enumType('ConsentAction', {
  description: 'GRANT/WITHDRAW for opt-in purposes, OPT_OUT/OPT_IN for opt-out ones; the engine reads any of them in either.',
  values: ['GRANT', 'WITHDRAW', 'OPT_OUT', 'OPT_IN'] as const,
});

export const ConsentSourceEnum = builder.enumType('ConsentSource', {
  description: 'The channel a choice came through. GPC is recorded only from the Sec-GPC request header.',
  values: ['CONSENT_CENTER', 'EMAIL_LINK', 'CRM', 'API', 'CHATBOT', 'GPC'] as const,
});

export const RegimeEnum = builder.enumType('Regime', {
  description: 'The rule set that applied to the subject when the choice was captured.',
  values: ['GDPR', 'CCPA', 'US_STATE', 'NONE'] as const,
});

export const DeliveryStatusEnum = builder.enumType('DeliveryStatus', {
  values: ['PENDING', 'DELIVERED', 'DEAD'] as const,
});

export const SuppressionStatusEnum = builder.enumType('SuppressionStatus', {
  values: ['SUPPRESSED', 'CONTACTABLE'] as const,
});

export const ConsentEventRef = builder.objectRef<ConsentEvent>('ConsentEvent').implement({
  description: 'One entry of the append-only consent ledger: proof of a choice.',
  fields: (t) => ({
    id: t.id({ resolve: (e) => String(e.id) }),
    customerId: t.id({ resolve: (e) => e.customerId }),
    purpose: t.exposeString('purposeKey'),
    purposeVersion: t.exposeInt('purposeVersion', { description: 'The version of the purpose the choice was made for.' }),
    action: t.field({ type: ConsentActionEnum, resolve: (e) => e.action }),
    source: t.field({ type: ConsentSourceEnum, resolve: (e) => e.source }),
    noticeVersion: t.exposeString('noticeVersion', { nullable: true, description: 'The privacy notice version shown.' }),
    regime: t.field({ type: RegimeEnum, resolve: (e) => e.regime }),
    sensitive: t.exposeBoolean('sensitive', { description: 'The choice is about special-category data.' }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.expiresAt }),
    recordedAt: t.field({ type: 'DateTime', resolve: (e) => e.recordedAt }),
    ipHash: t.exposeString('ipHash', { nullable: true, description: 'Keyed HMAC of the IP address; the address itself is never stored.' }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
  }),
});

export const GpcOutcomeRef = builder.objectRef<GpcOutcome>('GpcOutcome').implement({
  description: 'What the Global Privacy Control signal (Sec-GPC: 1) of the request did.',
  fields: (t) => ({
    honoured: t.exposeBoolean('honoured'),
    reason: t.exposeString('reason', {
      description: 'RECORDED, ALREADY_OPTED_OUT, NOT_REQUIRED_FOR_RESIDENCE, EXPLICIT_CHOICE_IN_REQUEST or NO_SIGNAL.',
    }),
    eventId: t.id({ nullable: true, resolve: (g) => (g.eventId === null ? null : String(g.eventId)) }),
  }),
});

export interface RecordedConsent {
  events: ConsentEvent[];
  replayed: boolean;
  gpc: GpcOutcome | null;
}

export const RecordedConsentRef = builder.objectRef<RecordedConsent>('RecordedConsent').implement({
  fields: (t) => ({
    events: t.field({ type: [ConsentEventRef], resolve: (r) => r.events, description: 'One event per purpose, in request order.' }),
    replayed: t.exposeBoolean('replayed', {
      description: 'True when the idempotency key matched an earlier request: these are the events it recorded, nothing new was.',
    }),
    gpc: t.field({ type: GpcOutcomeRef, nullable: true, resolve: (r) => r.gpc, description: 'Null without Sec-GPC: 1.' }),
  }),
});

export const PurposeStatusRef = builder.objectRef<PurposeStatus>('PurposeConsentStatus').implement({
  description: "The engine's decision today for one purpose of one subject (ordinary data).",
  fields: (t) => ({
    purpose: t.exposeString('purposeKey'),
    regime: t.field({ type: RegimeEnum, resolve: (s) => s.regime }),
    permitted: t.boolean({ resolve: (s) => s.decision.effect === 'allow' }),
    reason: t.string({ resolve: (s) => s.decision.reason, description: 'CONSENT, NOT_OPTED_OUT, NO_CONSENT, WITHDRAWN, OPTED_OUT, EXPIRED…' }),
  }),
});

export const ConsentChangeRef = builder.objectRef<ConsentChange>('ConsentChange').implement({
  description: 'A committed consent change, as the change feed, the subscription and the webhooks carry it.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Resume the feed after this change; also the webhook-id ("msg_<cursor>").' }),
    type: t.exposeString('topic'),
    eventId: t.id({ resolve: (c) => c.eventId }),
    customerId: t.id({ resolve: (c) => c.customerId }),
    externalId: t.exposeString('externalId', { description: 'The CRM id of the subject.' }),
    purpose: t.exposeString('purpose'),
    purposeVersion: t.exposeInt('purposeVersion'),
    action: t.field({ type: ConsentActionEnum, resolve: (c) => c.action }),
    regime: t.field({ type: RegimeEnum, resolve: (c) => c.regime }),
    sensitive: t.exposeBoolean('sensitive'),
    source: t.field({ type: ConsentSourceEnum, resolve: (c) => c.source }),
    noticeVersion: t.exposeString('noticeVersion', { nullable: true }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.expiresAt }),
    recordedAt: t.field({ type: 'DateTime', resolve: (c) => c.recordedAt }),
  }),
});

export interface ChangePage {
  changes: ConsentChange[];
  endCursor: string;
  hasMore: boolean;
}

export const ChangePageRef = builder.objectRef<ChangePage>('ConsentChangePage').implement({
  fields: (t) => ({
    changes: t.field({ type: [ConsentChangeRef], resolve: (p) => p.changes }),
    endCursor: t.exposeString('endCursor', { description: 'Pass as `after` next time; unchanged when there was nothing new.' }),
    hasMore: t.exposeBoolean('hasMore', { description: 'More changes are waiting: ask again at once.' }),
  }),
});

export const SuppressionEntryRef = builder.objectRef<SuppressionEntry>('SuppressionEntry').implement({
  fields: (t) => ({
    customerId: t.id({ resolve: (e) => e.customerId }),
    externalId: t.exposeString('externalId'),
    emailSha256: t.exposeString('emailSha256', { description: 'SHA-256 hex of the trimmed, lower-cased email: match on it, no email is sent.' }),
    status: t.field({ type: SuppressionStatusEnum, resolve: (e) => e.status }),
    reason: t.string({ nullable: true, resolve: (e) => e.reason, description: 'Why not (NO_CONSENT, WITHDRAWN, OPTED_OUT, EXPIRED…).' }),
    contactableUntil: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.contactableUntil }),
  }),
});

export interface SuppressionPage {
  entries: SuppressionEntry[];
  endCursor: string | null;
  hasMore: boolean;
  changesCursor: string;
}

export const SuppressionPageRef = builder.objectRef<SuppressionPage>('SuppressionPage').implement({
  fields: (t) => ({
    entries: t.field({ type: [SuppressionEntryRef], resolve: (p) => p.entries }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for the next page of this snapshot.' }),
    hasMore: t.exposeBoolean('hasMore'),
    changesCursor: t.exposeString('changesCursor', {
      description:
        'For a snapshot (no `changesAfter`): where the change feed stood when it began; for changes: the cursor to poll with next.',
    }),
  }),
});

type SubscriptionRow = WebhookSubscription;

export const WebhookSubscriptionRef = builder.objectRef<SubscriptionRow>('WebhookSubscription').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    purposes: t.exposeStringList('purposes'),
    description: t.exposeString('description', { nullable: true }),
    active: t.exposeBoolean('active'),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
  }),
});

export const CreatedWebhookSubscriptionRef = builder
  .objectRef<{ subscription: SubscriptionRow; secret: string }>('CreatedWebhookSubscription')
  .implement({
    fields: (t) => ({
      subscription: t.field({ type: WebhookSubscriptionRef, resolve: (c) => c.subscription }),
      secret: t.exposeString('secret', {
        description: 'The signing secret (whsec_…), shown only now: store it to verify deliveries.',
      }),
    }),
  });

export const WebhookDeliveryRef = builder.objectRef<WebhookDelivery>('WebhookDelivery').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    subscriptionId: t.exposeID('subscriptionId'),
    webhookId: t.string({ resolve: (d) => `msg_${d.outboxEventId}`, description: 'The webhook-id header of every attempt.' }),
    changeCursor: t.string({ resolve: (d) => String(d.outboxEventId) }),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null) }),
    lastAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.lastAttemptAt }),
    lastStatus: t.exposeInt('lastStatus', { nullable: true, description: 'HTTP status of the last attempt; null without a response.' }),
    lastError: t.exposeString('lastError', { nullable: true }),
    deliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.deliveredAt }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
  }),
});
