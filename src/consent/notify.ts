import type { Database } from '../db/database.ts';

// How a committed consent change reaches the propagation side. Across
// instances, the ledger's `pg_notify` inside the transaction (PostgreSQL
// delivers it at commit). Within this process, a direct call after commit:
// the embedded PGlite behind a socket does not route NOTIFY between
// connections, and even on PostgreSQL it saves the listener's round trip.

/** The LISTEN/NOTIFY channel; the payload is the highest outbox id committed. */
export const OUTBOX_CHANNEL = 'consentql_outbox';

type Listener = (outboxId: bigint) => void;

const listeners = new WeakMap<Database, Set<Listener>>();

export function onCommitted(db: Database, listener: Listener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

export function announceCommitted(db: Database, outboxId: bigint): void {
  for (const listener of listeners.get(db) ?? []) listener(outboxId);
}
