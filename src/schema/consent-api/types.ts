import type { ConsentEvent, WebhookDelivery, WebhookSubscription } from '../../generated/prisma/client.ts';
import type { GpcOutcome } from '../../consent/types.ts';
import type { PurposeStatus } from '../../consent/history.ts';
import type { ConsentChange } from '../../propagation/changes.ts';
import type { SuppressionEntry } from '../../propagation/suppression.ts';
import { builder } from '../builder.ts';
import { ALL_PURPOSES } from '../types/purposes.ts';

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

// The consent API's own types hold personal data and are tagged like Customer:
// a choice, its regime, its proof are the subject's, read for keeping and
// showing proof of consent (consent_management). Changes and suppression
// entries are notices: a consumer learns of a change for its own purpose,
// naming the subject only by its pseudonym under that purpose.

/** Fields of a consent record, kept and shown as proof of consent. */
const PROOF = { serves: ['consent_management'], category: 'behavioural', mask: 'null' } as const;
/** What any consumer of the change's purpose is told, so it can stop (or start) processing. */
const NOTICE = { serves: ALL_PURPOSES, category: 'behavioural', mask: 'null' } as const;

export const ConsentEventRef = builder.objectRef<ConsentEvent>('ConsentEvent').implement({
  description: 'One entry of the append-only consent ledger: proof of a choice.',
  personalData: { subject: (e) => e.customerId },
  fields: (t) => ({
    id: t.id({ nullable: false, purpose: 'surrogate-key', resolve: (e) => String(e.id) }),
    customerId: t.id({ nullable: false, purpose: 'surrogate-key', resolve: (e) => e.customerId }),
    purpose: t.exposeString('purposeKey', { purpose: PROOF }),
    purposeVersion: t.exposeInt('purposeVersion', { purpose: PROOF, description: 'The version of the purpose the choice was made for.' }),
    action: t.field({ type: ConsentActionEnum, purpose: PROOF, resolve: (e) => e.action }),
    source: t.field({ type: ConsentSourceEnum, purpose: PROOF, resolve: (e) => e.source }),
    noticeVersion: t.exposeString('noticeVersion', { purpose: PROOF, description: 'The privacy notice version shown.' }),
    regime: t.field({ type: RegimeEnum, purpose: { ...PROOF, category: 'demographic' }, resolve: (e) => e.regime }),
    sensitive: t.exposeBoolean('sensitive', { purpose: PROOF, description: 'The choice is about special-category data.' }),
    expiresAt: t.field({ type: 'DateTime', purpose: PROOF, resolve: (e) => e.expiresAt }),
    recordedAt: t.field({ type: 'DateTime', purpose: PROOF, resolve: (e) => e.recordedAt }),
    ipHash: t.exposeString('ipHash', {
      purpose: { ...PROOF, category: 'identifier' },
      description: 'Keyed HMAC of the IP address; the address itself is never stored.',
    }),
    userAgent: t.exposeString('userAgent', { purpose: PROOF }),
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
  personalData: { subject: (s) => s.customerId },
  fields: (t) => ({
    purpose: t.exposeString('purposeKey', { purpose: PROOF }),
    regime: t.field({ type: RegimeEnum, purpose: { ...PROOF, category: 'demographic' }, resolve: (s) => s.regime }),
    permitted: t.boolean({ purpose: PROOF, resolve: (s) => s.decision.effect === 'allow' }),
    reason: t.string({
      purpose: PROOF,
      resolve: (s) => s.decision.reason,
      description: 'CONSENT, NOT_OPTED_OUT, NO_CONSENT, WITHDRAWN, OPTED_OUT, EXPIRED…',
    }),
  }),
});

export const ConsentChangeRef = builder.objectRef<ConsentChange>('ConsentChange').implement({
  description:
    'A committed consent change, as the change feed, the subscription and the webhooks carry it. A consumer sees the changes of ' +
    'its declared purpose and the subject as its pseudonym under that purpose; the details are for consent management.',
  // An erasure's notice names no id: its pseudonyms were computed when the subject was erased.
  personalData: { subject: (c) => c.customerId, notice: true, pseudonym: (c, purposeKey) => c.subjectKeys?.[purposeKey] },
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      purpose: { ...NOTICE, category: 'identifier' },
      description: 'Resume the feed after this change; also the webhook-id ("msg_<cursor>").',
    }),
    type: t.exposeString('topic', { purpose: NOTICE }),
    subject: t.string({
      purpose: 'pseudonym',
      resolve: () => null,
      description: 'The subject as your pseudonym under the declared purpose: the same value as Customer.subjectKey.',
    }),
    purpose: t.exposeString('purpose', { purpose: NOTICE }),
    purposeVersion: t.exposeInt('purposeVersion', { purpose: NOTICE }),
    action: t.field({ type: ConsentActionEnum, purpose: NOTICE, resolve: (c) => c.action }),
    recordedAt: t.field({ type: 'DateTime', purpose: NOTICE, resolve: (c) => c.recordedAt }),
    erased: t.boolean({
      purpose: NOTICE,
      resolve: (c) => c.erased === true,
      description:
        'The subject was erased (action WITHDRAW, one notice per purpose): delete everything you hold of them. ' +
        'Their earlier changes are no longer in the feed; no id, only `subject`, names them.',
    }),
    extracts: t.stringList({
      purpose: NOTICE,
      resolve: (c) => c.extracts ?? [],
      description: 'The extracts of this purpose that contain the subject (their ids): drop the subject from them.',
    }),
    eventId: t.id({ purpose: { ...PROOF, category: 'identifier' }, resolve: (c) => c.eventId }),
    customerId: t.id({ purpose: { ...PROOF, category: 'identifier' }, resolve: (c) => c.customerId }),
    externalId: t.exposeString('externalId', { purpose: { ...PROOF, category: 'identifier' }, description: 'The CRM id of the subject.' }),
    regime: t.field({ type: RegimeEnum, purpose: { ...PROOF, category: 'demographic' }, resolve: (c) => c.regime }),
    sensitive: t.exposeBoolean('sensitive', { purpose: PROOF }),
    source: t.field({ type: ConsentSourceEnum, purpose: PROOF, resolve: (c) => c.source }),
    noticeVersion: t.exposeString('noticeVersion', { purpose: PROOF }),
    expiresAt: t.field({ type: 'DateTime', purpose: PROOF, resolve: (c) => c.expiresAt }),
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
  description: 'A subject the declared purpose must not (or, in an incremental poll, may again) process, named by your pseudonym.',
  personalData: { subject: (e) => e.customerId, notice: true, pseudonym: (e, purposeKey) => e.subjectKeys?.[purposeKey] },
  fields: (t) => ({
    subject: t.string({
      purpose: 'pseudonym',
      resolve: () => null,
      description: 'Your pseudonym for the subject under the declared purpose.',
    }),
    emailSha256: t.exposeString('emailSha256', {
      purpose: { serves: ['marketing', 'consent_management'], category: 'contact', mask: 'null' },
      description: 'For contact purposes: SHA-256 hex of the trimmed, lower-cased email, to match the addresses you hold.',
    }),
    status: t.field({ type: SuppressionStatusEnum, purpose: NOTICE, resolve: (e) => e.status }),
    contactableUntil: t.field({
      type: 'DateTime',
      purpose: NOTICE,
      resolve: (e) => e.contactableUntil,
      description: 'A contactable subject whose consent expires: process only until then.',
    }),
    reason: t.string({
      purpose: PROOF,
      resolve: (e) => e.reason,
      description:
        'Why not (NO_CONSENT, WITHDRAWN, OPTED_OUT, EXPIRED…, ERASED): consent management only, as it can tell age or residence.',
    }),
    customerId: t.id({ purpose: { ...PROOF, category: 'identifier' }, resolve: (e) => e.customerId }),
    externalId: t.exposeString('externalId', { purpose: { ...PROOF, category: 'identifier' } }),
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
