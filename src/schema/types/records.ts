import { builder } from '../builder.ts';
import type { PurposeKey } from '../../policy/taxonomy.ts';
import { CONTRACT } from './purposes.ts';

// Records about a customer: each names its subject directly (customerId),
// so its fields are decided with that person's consent. Only the columns a
// request selects are read, and the subject's.
const SUBJECT = { id: true, customerId: true } as const;

const ORDER_PURPOSES: PurposeKey[] = [...CONTRACT, 'analytics', 'personalization', 'ai_training'];
const TICKET_PURPOSES: PurposeKey[] = ['support', 'analytics', 'ai_training'];
const CONVERSATION_PURPOSES: PurposeKey[] = ['support', 'ai_training'];
const INTERACTION_PURPOSES: PurposeKey[] = ['marketing', 'analytics', 'ai_training'];
const WEB_PURPOSES: PurposeKey[] = ['analytics', 'personalization', 'ai_training', 'ad_sharing'];

builder.prismaObject('Order', {
  select: SUBJECT,
  personalData: { subject: (order) => order.customerId },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    number: t.exposeString('number', { purpose: { serves: CONTRACT, category: 'identifier', mask: 'hmac' } }),
    status: t.exposeString('status', { purpose: { serves: ORDER_PURPOSES, category: 'behavioural', mask: 'null' } }),
    currency: t.exposeString('currency', { purpose: { serves: ORDER_PURPOSES, category: 'financial', mask: 'null' } }),
    total: t.expose('total', { type: 'Decimal', purpose: { serves: ORDER_PURPOSES, category: 'financial', mask: 'null' } }),
    placedAt: t.expose('placedAt', {
      type: 'DateTime',
      purpose: { serves: ORDER_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    items: t.relation('items', {
      nullable: true,
      query: { orderBy: { sku: 'asc' } },
      purpose: { serves: ORDER_PURPOSES, category: 'financial', mask: 'null' },
    }),
  }),
});

builder.prismaObject('OrderItem', {
  select: SUBJECT,
  personalData: { subject: (item) => item.customerId },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    sku: t.exposeString('sku', { purpose: { serves: ORDER_PURPOSES, category: 'behavioural', mask: 'null' } }),
    name: t.exposeString('name', { purpose: { serves: ORDER_PURPOSES, category: 'behavioural', mask: 'null' } }),
    quantity: t.exposeInt('quantity', { purpose: { serves: ORDER_PURPOSES, category: 'behavioural', mask: 'null' } }),
    unitPrice: t.expose('unitPrice', {
      type: 'Decimal',
      purpose: { serves: ORDER_PURPOSES, category: 'financial', mask: 'null' },
    }),
  }),
});

builder.prismaObject('SupportTicket', {
  select: SUBJECT,
  personalData: { subject: (ticket) => ticket.customerId },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    subject: t.exposeString('subject', {
      purpose: { serves: CONVERSATION_PURPOSES, category: 'behavioural', mask: 'redact' },
    }),
    status: t.exposeString('status', { purpose: { serves: TICKET_PURPOSES, category: 'behavioural', mask: 'null' } }),
    channel: t.exposeString('channel', { purpose: { serves: TICKET_PURPOSES, category: 'behavioural', mask: 'null' } }),
    openedAt: t.expose('openedAt', {
      type: 'DateTime',
      purpose: { serves: TICKET_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    closedAt: t.expose('closedAt', {
      type: 'DateTime',
      purpose: { serves: TICKET_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    messages: t.relation('messages', {
      nullable: true,
      query: { orderBy: [{ sentAt: 'asc' }, { id: 'asc' }] },
      purpose: { serves: CONVERSATION_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
  }),
});

builder.prismaObject('TicketMessage', {
  select: SUBJECT,
  personalData: { subject: (message) => message.customerId },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    author: t.exposeString('author', {
      description: '"customer" or "agent".',
      purpose: { serves: CONVERSATION_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    body: t.exposeString('body', {
      description: 'Free text of the conversation, as a support chatbot reads it.',
      purpose: { serves: CONVERSATION_PURPOSES, category: 'behavioural', mask: 'redact' },
    }),
    sentAt: t.expose('sentAt', {
      type: 'DateTime',
      purpose: { serves: CONVERSATION_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
  }),
});

builder.prismaObject('MarketingInteraction', {
  select: SUBJECT,
  personalData: { subject: (interaction) => interaction.customerId },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    campaign: t.exposeString('campaign', {
      purpose: { serves: INTERACTION_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    kind: t.exposeString('kind', {
      description: 'sent, opened, clicked or unsubscribed.',
      purpose: { serves: INTERACTION_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    occurredAt: t.expose('occurredAt', {
      type: 'DateTime',
      purpose: { serves: INTERACTION_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
  }),
});

builder.prismaObject('WebEvent', {
  select: SUBJECT,
  personalData: { subject: (event) => event.customerId },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    kind: t.exposeString('kind', { purpose: { serves: WEB_PURPOSES, category: 'behavioural', mask: 'null' } }),
    path: t.exposeString('path', { purpose: { serves: WEB_PURPOSES, category: 'behavioural', mask: 'null' } }),
    device: t.exposeString('device', { purpose: { serves: WEB_PURPOSES, category: 'behavioural', mask: 'null' } }),
    occurredAt: t.expose('occurredAt', {
      type: 'DateTime',
      purpose: { serves: WEB_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
  }),
});
