import { ConsentQLError } from '../../errors.ts';
import { OUTBOX_CHANNEL } from '../../consent/notify.ts';
import {
  ALLOW_HOSTS_SETTING,
  checkTarget,
  describeKind,
  withoutCredentials,
  type TargetCheck,
  type TargetPolicy,
} from '../../propagation/targets.ts';
import { newWebhookSecret } from '../../propagation/webhooks.ts';
import { builder } from '../builder.ts';
import { knownPurpose } from './access.ts';
import { CreatedWebhookSubscriptionRef, DeliveryStatusEnum, WebhookDeliveryRef, WebhookSubscriptionRef } from './types.ts';

// Webhook subscribers and their deliveries: admin only (src/http/permissions.ts).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidArg(value: string | number, argument: string): string {
  const id = String(value);
  if (!UUID.test(id))
    throw new ConsentQLError('BAD_USER_INPUT', `${argument} expects a UUID, but got ${JSON.stringify(id)}.`, { argument });
  return id;
}

/** How long creating a subscription waits for the host's addresses; past it the URL is taken (each delivery checks again). */
const LOOKUP_TIMEOUT_MS = 3000;

/**
 * An http(s) URL without credentials whose host is public or allow-listed.
 * A name that does not resolve (yet) is accepted: deliveries check the
 * addresses they connect to, every time.
 */
async function endpoint(url: string, policy: TargetPolicy): Promise<string> {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `url expects an absolute http(s) URL such as https://mail.example.com/hooks/consent, but got ${JSON.stringify(withoutCredentials(url))}.`,
      { argument: 'url' },
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Echoed without them: this message may be logged.
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `url must not carry a user name or password, but got ${JSON.stringify(withoutCredentials(parsed.toString()))}: they would be stored and ` +
        'could surface in errors and logs. Deliveries are signed (the webhook-signature header, with the secret this mutation returns), ' +
        'so the receiver verifies them without credentials: remove them from the URL.',
      { argument: 'url', reason: 'credentials' },
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const checked = await Promise.race([
    checkTarget(parsed, policy),
    new Promise<TargetCheck | null>((resolve) => (timer = setTimeout(() => resolve(null), LOOKUP_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (checked && !checked.ok && checked.problem === 'refused') {
    const where =
      checked.address === checked.host
        ? `${checked.host}, ${describeKind(checked.kind)}`
        : `${checked.host}, which resolves to ${checked.address}, ${describeKind(checked.kind)}`;
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `url points to ${where}. Webhooks are sent only to public addresses, so that they cannot reach services inside this network. ` +
        `Give the receiver's public address; for development and tests, list the host in ${ALLOW_HOSTS_SETTING} (such as "127.0.0.1,localhost").`,
      { argument: 'url', host: checked.host, reason: checked.kind },
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
        throw new ConsentQLError('BAD_USER_INPUT', 'purposes expects at least one purpose key, but got an empty list.', {
          argument: 'purposes',
        });
      }
      const purposes = [...new Set(args.purposes.map((p) => knownPurpose(p, 'purposes').key))];
      const url = await endpoint(args.url, ctx.webhookTargets);
      const secret = newWebhookSecret();
      const subscription = await ctx.db.prisma.webhookSubscription.create({
        data: { url, purposes, secret, description: args.description ?? null },
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
      // Sent now: by this process's dispatcher, if it runs one, and by the workers, woken as by a new change.
      ctx.propagation?.dispatcher?.kick();
      await ctx.db.pool.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, 'replay']);
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
