import { ConsentQLError } from '../../errors.ts';
import { latestCursor, pageSize, parseCursor, readChanges } from '../../propagation/changes.ts';
import type { ConsentChange } from '../../propagation/changes.ts';
import { erasedEntry, statusOf, suppressedPage } from '../../propagation/suppression.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { requireConsent } from '../subjects.ts';
import { authenticateSubscriber, CONSENT_MANAGEMENT, followedPurposes, knownPurpose } from './access.ts';
import { ChangePageRef, ConsentChangeRef, SuppressionPageRef } from './types.ts';

// What downstream systems poll or follow: the change feed, the suppression
// list (a snapshot, then its changes) and the live subscription.

/**
 * A snapshot cursor holds where the feed stood when the snapshot began and
 * the last customer looked at: sealed like the customers' cursors, since the
 * customer id is not the consumer's to read.
 */
function snapshotBinding(ctx: Context, purposeKey: string): string {
  return `suppressionList|${ctx.client?.id ?? ''}|${requireConsent(ctx).purpose.key}|${purposeKey}`;
}

function openSnapshotCursor(
  ctx: Context,
  after: string | null | undefined,
  purposeKey: string,
): { feed: bigint; customerId: string } | null {
  if (!after) return null;
  const values = ctx.cursors.open(after, snapshotBinding(ctx, purposeKey));
  if (values?.length !== 2 || typeof values[0] !== 'string' || !/^\d{1,19}$/.test(values[0]) || typeof values[1] !== 'string') {
    throw new ConsentQLError(
      'INVALID_CURSOR',
      'after expects the endCursor of a previous suppressionList page for the same purpose, returned to you, but got one it did not. ' +
        'Omit it to start a snapshot.',
      { argument: 'after' },
    );
  }
  return { feed: BigInt(values[0]), customerId: values[1] };
}

builder.queryFields((t) => ({
  consentChanges: t.field({
    type: ChangePageRef,
    description:
      'Committed consent changes after a cursor, oldest first, for the declared purpose (consent management: any). ' +
      'Poll with the endCursor of the last page to get exactly the changes since.',
    args: {
      after: t.arg.string({ description: 'The endCursor of the previous page; omit to start from the beginning.' }),
      first: t.arg.int({ defaultValue: 100, description: 'At most this many changes (1–1000).' }),
      purposes: t.arg.stringList({ description: 'Consent management only: just these purposes (default all).' }),
    },
    resolve: async (_root, args, ctx) => {
      const purposes = followedPurposes(ctx, args.purposes);
      const after = parseCursor(args.after);
      const limit = pageSize(args.first, 100);
      const changes = purposes?.length === 0 ? [] : await readChanges(ctx.db.prisma, after, limit, purposes);
      return {
        changes,
        endCursor: changes.length > 0 ? changes[changes.length - 1].cursor : String(after),
        hasMore: changes.length === limit,
      };
    },
  }),
  suppressionList: t.field({
    type: SuppressionPageRef,
    description:
      'Who must not be processed for the declared purpose right now, decided by the policy engine, named by your pseudonym. ' +
      'Without `changesAfter`: a snapshot of the suppressed subjects who have made a choice for the purpose (those you may hold), ' +
      'paged with `after`; keep its changesCursor. With `changesAfter`: the current status (SUPPRESSED or CONTACTABLE) of exactly ' +
      'the subjects whose consent for the purpose changed since that cursor.',
    args: {
      purpose: t.arg.string({ required: true, description: 'The declared purpose (consent management: any purpose).' }),
      first: t.arg.int({ defaultValue: 500, description: '1–1000.' }),
      after: t.arg.string({ description: 'Snapshot paging: the endCursor of the previous page.' }),
      changesAfter: t.arg.string({ description: 'Incremental: the changesCursor of the snapshot or of the previous poll.' }),
    },
    resolve: async (_root, args, ctx) => {
      const purpose = knownPurpose(args.purpose, 'purpose');
      followedPurposes(ctx, [purpose.key], 'purpose');
      const limit = pageSize(args.first, 500);
      const { now } = requireConsent(ctx);
      if (args.changesAfter != null) {
        const after = parseCursor(args.changesAfter, 'changesAfter');
        const changes = await readChanges(ctx.db.prisma, after, limit, [purpose.key]);
        const customers = [...new Set(changes.flatMap((c) => (c.customerId === null ? [] : [c.customerId])))];
        // An erased subject is no customer any more: its erasure notice says to suppress it.
        const erased = changes.filter((c) => c.erased && c.customerId === null).map((c) => erasedEntry(c.subjectKeys));
        return {
          entries: [...(await statusOf(ctx.db.prisma, purpose, ctx.mode, now, customers)), ...erased],
          endCursor: null,
          hasMore: changes.length === limit,
          changesCursor: changes.length > 0 ? changes[changes.length - 1].cursor : String(after),
        };
      }
      const resume = openSnapshotCursor(ctx, args.after, purpose.key);
      // Read before the scan: a change during the scan then shows up in the first poll.
      const feed = resume?.feed ?? (await latestCursor(ctx.db.prisma));
      const page = await suppressedPage(ctx.db.prisma, purpose, ctx.mode, now, resume?.customerId ?? null, limit);
      return {
        entries: page.entries,
        endCursor: page.endCursor ? ctx.cursors.seal([String(feed), page.endCursor], snapshotBinding(ctx, purpose.key)) : null,
        hasMore: page.hasMore,
        changesCursor: String(feed),
      };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  consentChanged: t.field({
    type: ConsentChangeRef,
    description:
      'Consent changes of the declared purpose as they commit, on whichever instance, over server-sent events (consent management: ' +
      'any purposes, optionally one subject). For gap-free catch-up after a disconnect, read consentChanges from your last cursor.',
    args: {
      purposes: t.arg.stringList({ description: 'Consent management only: just these purposes (default all).' }),
      customerId: t.arg.id({ description: 'Consent management only: just this subject.' }),
    },
    subscribe: async (_root, args, ctx) => {
      await authenticateSubscriber(ctx);
      const purposes = followedPurposes(ctx, args.purposes);
      if (args.customerId != null && requireConsent(ctx).purpose.key !== CONSENT_MANAGEMENT) {
        throw new ConsentQLError(
          'PURPOSE_NOT_ALLOWED',
          'customerId filters a subject by its id, which only consent management may use. Remove customerId and match on `subject`.',
          { argument: 'customerId' },
        );
      }
      const hub = ctx.propagation?.hub;
      if (!hub) {
        throw new ConsentQLError(
          'CONSENT_UNAVAILABLE',
          'Live consent changes are not running on this instance; poll consentChanges instead.',
        );
      }
      return hub.subscribe({ purposes, customerId: args.customerId == null ? null : String(args.customerId) });
    },
    resolve: (change: ConsentChange) => change,
  }),
}));
