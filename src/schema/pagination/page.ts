import { ConsentQLError } from '../../errors.ts';
import type { Context } from '../context.ts';
import { requireConsent } from '../subjects.ts';
import { isPosition, type CursorValue, type SortKey } from './keyset.ts';

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 20;

export interface PageRequest {
  size: number;
  cursor: string | null;
  /** `last`/`before`: the page ends at the cursor. */
  backward: boolean;
}

interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

const badInput = (message: string, argument: string) => new ConsentQLError('BAD_USER_INPUT', message, { argument });

/** Reads and checks Relay's paging arguments. */
export function pageOf({ first, last, after, before }: ConnectionArgs): PageRequest {
  if (first != null && last != null) throw badInput('Pass either first (with after) or last (with before), not both.', 'last');
  if (after != null && before != null) throw badInput('Pass either after or before, not both.', 'before');
  if (first != null && before != null) throw badInput('before pages backwards: use it with last, not first.', 'before');
  if (last != null && after != null) throw badInput('after pages forwards: use it with first, not last.', 'after');
  const backward = last != null || before != null;
  const size = (backward ? last : first) ?? DEFAULT_PAGE_SIZE;
  const argument = backward ? 'last' : 'first';
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badInput(
      `${argument} expects a number from 0 to ${MAX_PAGE_SIZE}, but got ${size}. Page through larger sets with the cursors.`,
      argument,
    );
  }
  return { size, cursor: (backward ? before : after) ?? null, backward };
}

/** What a cursor is bound to: the client, the declared purpose and the order it was issued for. */
export function cursorBinding(ctx: Context, list: string, keys: readonly SortKey[]): string {
  const order = keys.map((k) => `${k.field}:${k.descending ? 'desc' : 'asc'}`).join(',');
  return `${list}|${ctx.client?.id ?? ''}|${requireConsent(ctx).purpose.key}|${order}`;
}

/**
 * The position a cursor holds. Anything this server did not issue to this
 * client for this purpose and order is refused with one message, whatever
 * the reason, so a refusal tells nothing about any subject.
 */
export function openCursor(ctx: Context, cursor: string, binding: string, keys: readonly SortKey[]): CursorValue[] {
  const values = ctx.cursors.open(cursor, binding);
  if (!values || !isPosition(keys, values)) {
    throw new ConsentQLError(
      'INVALID_CURSOR',
      'after/before expects a cursor that this API returned to you for the same purpose and orderBy, but got one it did not. ' +
        'Start again without after/before.',
    );
  }
  return values;
}
