import { ConsentQLError } from '../../errors.ts';
import { kickDispatcher } from '../../propagation/index.ts';
import { newWebhookSecret } from '../../propagation/webhooks.ts';
import { builder } from '../builder.ts';
import { knownPurpose } from './access.ts';
import { CreatedWebhookSubscriptionRef, DeliveryStatusEnum, WebhookDeliveryRef, WebhookSubscriptionRef } from './types.ts';

// Webhook subscribers and their deliveries: admin only (src/http/permissions.ts).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidArg(value: string | number, argument: string): string {
  const id = String(value);
  if (!UUID.test(id)) throw new ConsentQLError('BAD_USER_INPUT', `${argument} expects a UUID, but got ${JSON.stringify(id)}.`, { argument });
  return id;
}

function endpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid:');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `url expects an absolute http(s) URL such as https://mail.example.com/hooks/consent, but got ${JSON.stringify(url)}.`,
      { argument: 'url' },
    );
  }
  return parsed.toString();
}

builder.mutationFields((t) => ({
  createWebhookSubscription: t.field({
    type: CreatedWebhookSubscriptionRef,
    description:
      'Registers an endpoint for the consent changes of some purposes. Deliveries are signed per Standard Webhooks with the returned ' +
      'secret, retried with backoff, and dead-lettered after the last retry.',
    args: {
      url: t.arg.string({ required: true }),
      purposes: t.arg.stringList({ required: true }),
      description: t.arg.string(),
    },
    resolve: async (_root, args, ctx) => {
      if (args.purposes.length === 0) {
        throw new ConsentQLError('BAD_USER_INPUT', 'purposes expects at least one purpose key, but got an empty list.', { argument: 'purposes' });
      }
      const purposes = [...new Set(args.purposes.map((p) => knownPurpose(p, 'purposes').key))];
      const secret = newWebhookSecret();
      const subscription = await ctx.db.prisma.webhookSubscription.create({
        data: { url: endpoint(args.url), purposes, secret, description: args.description ?? null },
      });
      return { subscription, secret };
    },
  }),
  deactivateWebhookSubscription: t.field({
    type: WebhookSubscriptionRef,
    description: 'Stops deliveries to a subscriber; its history stays.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = uuidArg(args.id, 'id');
      const found = await ctx.db.prisma.webhookSubscription.findUnique({ where: { id } });
      if (!found) throw new ConsentQLError('NOT_FOUND', `No webhook subscription with id ${id}.`, { argument: 'id' });
      return ctx.db.prisma.webhookSubscription.update({ where: { id }, data: { active: false } });
    },
  }),
  replayWebhookDelivery: t.field({
    type: WebhookDeliveryRef,
    description: 'Sends a dead-lettered delivery again, with a fresh retry schedule and the same webhook-id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = uuidArg(args.id, 'id');
      // The row as the replay left it: a dispatcher may claim it a moment later.
      const [replayed] = await ctx.db.prisma.webhookDelivery.updateManyAndReturn({
        where: { id, status: 'DEAD' },
        data: { status: 'PENDING', attempts: 0, nextAttemptAt: new Date(), lastError: null, lastStatus: null },
      });
      if (!replayed) {
        const delivery = await ctx.db.prisma.webhookDelivery.findUnique({ where: { id } });
        if (!delivery) throw new ConsentQLError('NOT_FOUND', `No webhook delivery with id ${id}.`, { argument: 'id' });
        throw new ConsentQLError(
          'BAD_USER_INPUT',
          `Only a DEAD delivery can be replayed, but delivery ${id} is ${delivery.status}. ` +
            'A PENDING one is still being retried; a DELIVERED one was received.',
          { argument: 'id', received: delivery.status },
        );
      }
      kickDispatcher(ctx.db);
      return replayed;
    },
  }),
}));

builder.queryFields((t) => ({
  webhookSubscriptions: t.field({
    type: [WebhookSubscriptionRef],
    args: { active: t.arg.boolean() },
    resolve: (_root, args, ctx) =>
      ctx.db.prisma.webhookSubscription.findMany({
        where: args.active == null ? {} : { active: args.active },
        orderBy: { createdAt: 'asc' },
      }),
  }),
  webhookDeliveries: t.field({
    type: [WebhookDeliveryRef],
    description: 'Deliveries, newest first: filter by status DEAD for the dead-letter queue.',
    args: {
      status: t.arg({ type: DeliveryStatusEnum }),
      subscriptionId: t.arg.id(),
      first: t.arg.int({ defaultValue: 50 }),
    },
    resolve: (_root, args, ctx) => {
      const first = args.first ?? 50;
      if (first < 1 || first > 1000) {
        throw new ConsentQLError('BAD_USER_INPUT', `first expects a number from 1 to 1000, but got ${first}.`, { argument: 'first' });
      }
      return ctx.db.prisma.webhookDelivery.findMany({
        where: {
          ...(args.status ? { status: args.status } : {}),
          ...(args.subscriptionId != null ? { subscriptionId: uuidArg(args.subscriptionId, 'subscriptionId') } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
        take: first,
      });
    },
  }),
}));
