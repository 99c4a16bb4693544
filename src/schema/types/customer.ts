import { builder } from '../builder.ts';
import { ALL_PURPOSES, CONTRACT } from './purposes.ts';

const recordList = (first: number | null | undefined) => ({ take: Math.min(Math.max(first ?? 20, 1), 100) });

export const CustomerRef = builder.prismaObject('Customer', {
  description: 'A person in the CRM. Each field is returned, masked or nulled per request purpose and consent.',
  // Only the columns a request selects are read (each exposed field selects its own).
  select: { id: true },
  personalData: { subject: (customer) => customer.id },
  fields: (t) => ({
    id: t.exposeID('id', { nullable: false, purpose: 'surrogate-key' }),
    subjectKey: t.string({
      purpose: 'pseudonym',
      resolve: () => null,
      description:
        'Your pseudonym for this person under the declared purpose: stable, and the key by which the change feed, ' +
        'subscriptions, webhooks and suppression lists name them to you.',
    }),
    externalId: t.exposeString('externalId', {
      description: 'Id of the person in the source CRM.',
      purpose: { serves: [...CONTRACT, 'marketing', 'analytics', 'ai_training'], category: 'identifier', mask: 'hmac' },
    }),
    email: t.exposeString('email', {
      purpose: { serves: [...CONTRACT, 'marketing'], category: 'contact', mask: 'hmac' },
    }),
    phone: t.exposeString('phone', {
      purpose: { serves: [...CONTRACT, 'marketing'], category: 'contact', mask: { strategy: 'partial', kind: 'phone' } },
    }),
    firstName: t.exposeString('firstName', {
      purpose: { serves: [...CONTRACT, 'marketing'], category: 'identifier', mask: 'null' },
    }),
    lastName: t.exposeString('lastName', {
      purpose: { serves: [...CONTRACT, 'marketing'], category: 'identifier', mask: 'null' },
    }),
    birthDate: t.string({
      description: 'ISO date (YYYY-MM-DD); generalised to the year when masked.',
      purpose: {
        serves: ['transactional', 'marketing', 'personalization', 'ai_training'],
        category: 'demographic',
        mask: { strategy: 'generalize', kind: 'year' },
      },
      select: { birthDate: true },
      resolve: (c) => c.birthDate?.toISOString().slice(0, 10) ?? null,
    }),
    street: t.exposeString('street', {
      purpose: { serves: CONTRACT, category: 'contact', mask: 'redact' },
    }),
    city: t.exposeString('city', {
      purpose: { serves: [...CONTRACT, 'marketing', 'analytics'], category: 'contact', mask: 'null' },
    }),
    postalCode: t.exposeString('postalCode', {
      purpose: {
        serves: [...CONTRACT, 'marketing'],
        category: 'contact',
        mask: { strategy: 'generalize', kind: 'prefix', length: 2 },
      },
    }),
    region: t.exposeString('region', {
      description: 'Region or US state code.',
      purpose: { serves: ALL_PURPOSES, category: 'demographic', mask: 'null' },
    }),
    country: t.exposeString('country', {
      description: 'ISO 3166-1 alpha-2 country code; null when unknown.',
      purpose: { serves: ALL_PURPOSES, category: 'demographic', mask: 'null' },
    }),
    preferredLanguage: t.exposeString('preferredLanguage', {
      purpose: { serves: [...CONTRACT, 'marketing', 'personalization'], category: 'demographic', mask: 'null' },
    }),
    segment: t.exposeString('segment', {
      purpose: {
        serves: ['marketing', 'analytics', 'personalization', 'ai_training', 'ad_sharing'],
        category: 'inferred',
        mask: 'null',
      },
    }),
    lifetimeValue: t.expose('lifetimeValue', {
      type: 'Decimal',
      purpose: { serves: ['support', 'marketing', 'analytics', 'ai_training'], category: 'financial', mask: 'null' },
    }),
    churnScore: t.exposeFloat('churnScore', {
      description: 'Model output: probability of churn in the next 90 days.',
      purpose: { serves: ['marketing', 'analytics', 'ai_training'], category: 'inferred', mask: 'null' },
    }),
    riskBand: t.exposeString('riskBand', {
      purpose: { serves: ['support', 'marketing', 'analytics', 'ai_training'], category: 'inferred', mask: 'null' },
    }),
    healthInterests: t.exposeStringList('healthInterests', {
      description: 'Special-category data inferred from purchases.',
      purpose: { serves: ['support', 'marketing', 'personalization', 'ai_training'], category: 'sensitive', mask: 'null' },
    }),
    preciseLocation: t.exposeString('preciseLocation', {
      description: 'Precise geolocation "lat,lon" (sensitive under CPRA); generalised to a region when masked.',
      purpose: {
        serves: ['transactional', 'personalization', 'ad_sharing'],
        category: 'sensitive',
        mask: { strategy: 'generalize', kind: 'region' },
      },
    }),
    createdAt: t.expose('createdAt', {
      type: 'DateTime',
      purpose: { serves: ALL_PURPOSES, category: 'behavioural', mask: 'null' },
    }),
    orders: t.relation('orders', {
      nullable: true,
      args: { first: t.arg.int({ description: 'At most 100; default 20.' }) },
      query: (args) => ({ ...recordList(args.first), orderBy: [{ placedAt: 'desc' }, { id: 'asc' }] }),
      purpose: {
        serves: [...CONTRACT, 'analytics', 'personalization', 'ai_training'],
        category: 'financial',
        mask: 'null',
      },
    }),
    tickets: t.relation('tickets', {
      nullable: true,
      args: { first: t.arg.int({ description: 'At most 100; default 20.' }) },
      query: (args) => ({ ...recordList(args.first), orderBy: [{ openedAt: 'desc' }, { id: 'asc' }] }),
      purpose: { serves: ['support', 'analytics', 'ai_training'], category: 'behavioural', mask: 'null' },
    }),
    interactions: t.relation('interactions', {
      nullable: true,
      args: { first: t.arg.int({ description: 'At most 100; default 20.' }) },
      query: (args) => ({ ...recordList(args.first), orderBy: [{ occurredAt: 'desc' }, { id: 'asc' }] }),
      purpose: { serves: ['marketing', 'analytics', 'ai_training'], category: 'behavioural', mask: 'null' },
    }),
    webEvents: t.relation('webEvents', {
      nullable: true,
      args: { first: t.arg.int({ description: 'At most 100; default 20.' }) },
      query: (args) => ({ ...recordList(args.first), orderBy: [{ occurredAt: 'desc' }, { id: 'asc' }] }),
      purpose: {
        serves: ['analytics', 'personalization', 'ai_training', 'ad_sharing'],
        category: 'behavioural',
        mask: 'null',
      },
    }),
  }),
});
