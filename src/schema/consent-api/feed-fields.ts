import { ConsentQLError } from '../../errors.ts';
import { latestCursor, pageSize, parseCursor, readChanges } from '../../propagation/changes.ts';
import type { ConsentChange } from '../../propagation/changes.ts';
import { hubFor } from '../../propagation/hub.ts';
import { statusOf, suppressedPage } from '../../propagation/suppression.ts';
import { builder } from '../builder.ts';
import { authenticateSubscriber, knownPurpose, visiblePurposes } from './access.ts';
import { ChangePageRef, ConsentChangeRef, SuppressionPageRef } from './types.ts';

// What downstream systems poll or follow: the change feed, the suppression
// list (a snapshot, then its changes) and the live subscription.

/** A snapshot cursor: where the feed stood when the snapshot began, and the last customer looked at. */
function parseSnapshotCursor(after: string | null | undefined): { feed: bigint; customerId: string } | null {
  if (!after) return null;
  const match = /^(\d{1,19}):([0-9a-f-]{36})$/i.exec(after);
  if (!match) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `after expects the endCursor of a previous suppressionList page, but got ${JSON.stringify(after)}. Omit it to start a snapshot.`,
      { argument: 'after' },
    );
  }
  return { feed: BigInt(match[1]), customerId: match[2] };
}

builder.queryFields((t) => ({
  consentChanges: t.field({
    type: ChangePageRef,
    description:
      'Committed consent changes after a cursor, oldest first, for the purposes you may follow. ' +
      'Poll with the endCursor of the last page to get exactly the changes since.',
    args: {
      after: t.arg.string({ description: 'The endCursor of the previous page; omit to start from the beginning.' }),
      first: t.arg.int({ defaultValue: 100, description: 'At most this many changes (1–1000).' }),
      purposes: t.arg.stringList({ description: 'Only these purposes; default: every purpose you may follow.' }),
    },
    resolve: async (_root, args, ctx) => {
      const purposes = visiblePurposes(ctx, args.purposes);
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
      'Who must not be contacted for a purpose right now, decided by the policy engine. Without `changesAfter`: a snapshot of the ' +
      'suppressed subjects, paged with `after`; keep its changesCursor. With `changesAfter`: the current status (SUPPRESSED or ' +
      'CONTACTABLE) of exactly the subjects whose consent for the purpose changed since that cursor.',
    args: {
      purpose: t.arg.string({ required: true }),
      first: t.arg.int({ defaultValue: 500, description: '1–1000.' }),
      after: t.arg.string({ description: 'Snapshot paging: the endCursor of the previous page.' }),
      changesAfter: t.arg.string({ description: 'Incremental: the changesCursor of the snapshot or of the previous poll.' }),
    },
    resolve: async (_root, args, ctx) => {
      const purpose = knownPurpose(args.purpose, 'purpose');
      visiblePurposes(ctx, [purpose.key], 'purpose');
      const limit = pageSize(args.first, 500);
      const now = new Date();
      if (args.changesAfter != null) {
        const after = parseCursor(args.changesAfter, 'changesAfter');
        const changes = await readChanges(ctx.db.prisma, after, limit, [purpose.key]);
        const customers = [...new Set(changes.map((c) => c.customerId))];
        return {
          entries: await statusOf(ctx.db.prisma, purpose, ctx.mode, now, customers),
          endCursor: null,
          hasMore: changes.length === limit,
          changesCursor: changes.length > 0 ? changes[changes.length - 1].cursor : String(after),
        };
      }
      const resume = parseSnapshotCursor(args.after);
      // Read before the scan: a change during the scan then shows up in the first poll.
      const feed = resume?.feed ?? (await latestCursor(ctx.db.prisma));
      const page = await suppressedPage(ctx.db.prisma, purpose, ctx.mode, now, resume?.customerId ?? null, limit);
      return {
        entries: page.entries,
        endCursor: page.endCursor ? `${feed}:${page.endCursor}` : null,
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
      'Consent changes as they commit, on whichever instance, over server-sent events. Filter by purposes (default: all you may follow) ' +
      'and optionally one subject. For gap-free catch-up after a disconnect, read consentChanges from your last cursor.',
    args: { purposes: t.arg.stringList(), customerId: t.arg.id() },
    subscribe: async (_root, args, ctx) => {
      await authenticateSubscriber(ctx);
      const purposes = visiblePurposes(ctx, args.purposes);
      const hub = hubFor(ctx.db);
      if (!hub) {
        throw new ConsentQLError('CONSENT_UNAVAILABLE', 'Live consent changes are not running on this instance; poll consentChanges instead.');
      }
      return hub.subscribe({ purposes, customerId: args.customerId == null ? null : String(args.customerId) });
    },
    resolve: (change: ConsentChange) => change,
  }),
}));
