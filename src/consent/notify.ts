import type { Database } from '../db/database.ts';

// How a committed consent change reaches the propagation side. Across
// instances, the ledger's `pg_notify` inside the transaction (PostgreSQL
// delivers it at commit). Within this process, a direct call after commit:
// the embedded PGlite behind a socket does not route NOTIFY between
// connections, and even on PostgreSQL it saves the listener's round trip.

/** The LISTEN/NOTIFY channel; the payload is the highest outbox id committed. */
export const OUTBOX_CHANNEL = 'consentql_outbox';

export function onCommitted(db: Database, listener: (outboxId: bigint) => void): () => void {
  return db.signals.outboxCommitted.on(listener);
}

export function announceCommitted(db: Database, outboxId: bigint): void {
  db.signals.outboxCommitted.emit(outboxId);
}
