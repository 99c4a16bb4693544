// In-process notifications that belong to one open database: a change
// committed through this handle reaches this process's listeners at once,
// without the round trip (or, on the embedded PGlite, the absence) of
// LISTEN/NOTIFY. They live on the Database handle, so two handles in one
// process (tests, scripts) never hear each other's changes.

export class Signal<T> {
  private readonly listeners = new Set<(value: T) => void>();

  /** Calls `listener` on every emit until the returned function is called. */
  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(value: T): void {
    for (const listener of this.listeners) listener(value);
  }
}

/** What a metric needs to know of a recorded consent event (no subject). */
export interface RecordedConsent {
  purposeKey: string;
  action: string;
  source: string;
}

export interface DatabaseSignals {
  /** A consent change committed; the value is the highest outbox id it wrote. */
  outboxCommitted: Signal<bigint>;
  /** Consent events committed by one request (not replays of an idempotent one). */
  consentRecorded: Signal<readonly RecordedConsent[]>;
  /** An API client was created, changed, rotated or revoked. */
  clientsChanged: Signal<void>;
  /** LISTEN channels already forwarded into a signal for this handle (one listening connection each). */
  listening: Set<string>;
}

export function createSignals(): DatabaseSignals {
  return { outboxCommitted: new Signal(), consentRecorded: new Signal(), clientsChanged: new Signal(), listening: new Set() };
}
