/**
 * One database session: a `pg.Client`, a client from `pool.connect()`, or PGlite
 * behind `pgliteClient`. A `pg.Pool` is accepted too: `seed` then checks out one
 * client for its transaction (a pool would spread BEGIN and COMMIT over
 * different connections).
 */
export interface SeedClient {
  // biome-ignore lint/suspicious/noExplicitAny: rows of whichever driver (pg, PGlite), typed where they are read
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

export interface PoolLike extends SeedClient {
  connect(): Promise<SeedClient & { release(err?: Error | boolean): void }>;
  readonly idleCount: number;
  readonly totalCount: number;
}

export function isPool(client: SeedClient): client is PoolLike {
  const c = client as Partial<PoolLike>;
  return typeof c.connect === 'function' && typeof c.idleCount === 'number' && typeof c.totalCount === 'number';
}
