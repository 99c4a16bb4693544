import type { PrismaClient } from '../generated/prisma/client.ts';
import { ConsentQLError } from '../errors.ts';
import type { ConsentChangePayload } from '../consent/types.ts';

// The change feed is the outbox read in id order. Ids are assigned in commit
// order (the ledger serialises its writes), so `id > cursor` misses nothing.

export interface ConsentChange extends ConsentChangePayload {
  /** The outbox id: the feed cursor, and the `webhook-id` of its deliveries. */
  cursor: string;
  topic: string;
}

export const MAX_PAGE = 1000;

export function toChange(row: { id: bigint; topic: string; payload: unknown }): ConsentChange {
  return { ...(row.payload as ConsentChangePayload), cursor: String(row.id), topic: row.topic };
}

/** Parses a feed cursor: the decimal outbox id, or null/empty for "from the start". */
export function parseCursor(after: string | null | undefined, argument = 'after'): bigint {
  if (after === null || after === undefined || after === '') return 0n;
  if (!/^\d{1,19}$/.test(after)) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `${argument} expects a cursor returned by this feed (a decimal number such as "1042"), but got ${JSON.stringify(after)}. ` +
        'Omit it to read from the start.',
      { argument },
    );
  }
  return BigInt(after);
}

export function pageSize(first: number | null | undefined, fallback: number): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) {
    throw new ConsentQLError('BAD_USER_INPUT', `first expects a number from 1 to ${MAX_PAGE}, but got ${n}.`, { argument: 'first' });
  }
  return n;
}

export async function readChanges(
  prisma: PrismaClient,
  after: bigint,
  limit: number,
  purposes: readonly string[] | null,
): Promise<ConsentChange[]> {
  const rows = await prisma.outboxEvent.findMany({
    where: { id: { gt: after }, ...(purposes ? { purposeKey: { in: [...purposes] } } : {}) },
    orderBy: { id: 'asc' },
    take: limit,
    select: { id: true, topic: true, payload: true },
  });
  return rows.map(toChange);
}

/** The newest outbox id: where a feed that starts now begins. */
export async function latestCursor(prisma: PrismaClient): Promise<bigint> {
  const row = await prisma.outboxEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
  return row?.id ?? 0n;
}
