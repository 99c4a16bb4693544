import type { Prisma } from '../../generated/prisma/client.ts';

// Keyset pagination: a page starts strictly after (or before) the position a
// cursor holds, compared on the sort key and the id. The position comes from
// the sealed cursor itself, so no query looks the cursor's row up: a cursor
// can only ever reveal what the client saw when it was issued.

type Where = Prisma.CustomerWhereInput;

export interface SortKey {
  field: string;
  descending: boolean;
  /** Null values sort last in the forward order, whichever the direction. */
  nullable: boolean;
}

export type CursorValue = string | number | null;

/** ORDER BY for the keys, reversed for a backward page (`last`/`before`). */
export function keysetOrderBy(keys: readonly SortKey[], backward: boolean): Prisma.CustomerOrderByWithRelationInput[] {
  return keys.map(({ field, descending, nullable }) => {
    const sort = descending !== backward ? ('desc' as const) : ('asc' as const);
    return { [field]: nullable ? { sort, nulls: backward ? 'first' : 'last' } : sort };
  });
}

/** Rows strictly after `values` in the page's order (the forward order reversed when `backward`). */
export function keysetWhere(keys: readonly SortKey[], values: readonly CursorValue[], backward: boolean): Where {
  const branches: Where[] = [];
  const equalSoFar: Where[] = [];
  keys.forEach((key, i) => {
    const after = strictlyAfter(key, values[i], backward);
    if (after) branches.push({ AND: [...equalSoFar, after] });
    equalSoFar.push({ [key.field]: values[i] });
  });
  return { OR: branches };
}

function strictlyAfter(key: SortKey, value: CursorValue, backward: boolean): Where | null {
  const greater = key.descending === backward;
  if (!backward) {
    // Forward: nulls come last, so after a value come the larger (or smaller) values and the nulls.
    if (value === null) return null;
    const beyond: Where = { [key.field]: greater ? { gt: value } : { lt: value } };
    return key.nullable ? { OR: [beyond, { [key.field]: null }] } : beyond;
  }
  // Backward: nulls come first, so before a null come all values, and before a value only values.
  if (value === null) return key.nullable ? { NOT: { [key.field]: null } } : null;
  return { [key.field]: greater ? { gt: value } : { lt: value } };
}

/** The values of a row at the keys, as a cursor holds them (JSON: dates as ISO strings, decimals as strings). */
export function positionOf(keys: readonly SortKey[], row: Record<string, unknown>): CursorValue[] {
  return keys.map(({ field }) => {
    const value = row[field];
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    return typeof value === 'number' ? value : String(value);
  });
}

/** Whether values read from a cursor have the shape of a position at these keys. */
export function isPosition(keys: readonly SortKey[], values: readonly unknown[]): values is CursorValue[] {
  return (
    values.length === keys.length &&
    values.every((v, i) => (v === null ? keys[i].nullable : typeof v === 'string' || typeof v === 'number'))
  );
}
