import type pg from 'pg';
import { changePayload, EXTRACTS_OF, LEDGER_LOCK } from '../ledger.ts';
import { OUTBOX_CHANNEL } from '../notify.ts';
import { CONSENT_CHANGED_TOPIC, type Regime } from '../types.ts';
import { differences, type EventFacts } from './fingerprint.ts';
import type { ImportLine } from './line.ts';

// One batch of imported events, written in one transaction: the events, the
// state of each scope they touch, the outbox rows and the idempotency keys,
// with one multi-row statement (unnest) under the ledger's advisory lock.
//
// The lock is taken first, by its own statement, as a keyed consent request
// takes it (src/consent/ledger.ts): the write, which starts after it, then
// sees every import committed before (its event ids are looked up in
// consent_idempotency, one probe of the primary key per line, inside the
// statement), and outbox ids are assigned in commit order. It is held for the
// write and the COMMIT. Everything else (parsing, subjects, parameters) is done
// before, while the previous batch is being written.
//
// Historic times. An imported event is appended to the ledger whatever its
// time, but it becomes the state of its scope only if it is newer than the
// state there (by time, then by event id): importing old events never undoes a
// newer choice, and several events of one scope in a batch leave the latest.
// Only an event that became the state goes to the outbox: downstream systems
// apply changes in the order they arrive, and an old grant arriving after a
// newer withdrawal would make them act on a choice the subject has since
// revoked. Superseded events stay in the ledger, as history and proof.

/** A line whose subject is known: what the write needs. */
export interface ResolvedLine extends ImportLine {
  customerId: string;
  externalId: string;
  regime: Regime;
  fingerprint: string;
}

/** What this client recorded earlier under a line's event id. */
export interface StoredKey {
  fingerprint: string;
  /** Rows under the key: more than one when a consent request used it for several purposes. */
  rows: number;
  /** The first event recorded under it, read only for a line that reuses the id for another event. */
  facts: Omit<EventFacts, 'ipHash' | 'userAgent'> | null;
}

/** The lines of a batch to write (distinct event ids, in time order) and the statement's parameters. */
export interface PreparedWrite {
  lines: ResolvedLine[];
  parameters: unknown[];
}

export interface WriteOutcome {
  /** Lines recorded now. */
  recorded: ResolvedLine[];
  /** Lines whose event id this client had used before, with what it recorded then. */
  existing: { line: ResolvedLine; stored: StoredKey }[];
  /** Recorded events that became the state of their scope, and so were queued downstream. */
  propagated: number;
  /** The highest outbox id written, if any. */
  lastOutboxId: bigint | null;
}

/**
 * The batch's rows, in time order (then line order): new event ids are taken
 * in that order, which is the state's tie-break. Run with the ledger lock held.
 */
const WRITE = `
WITH input AS MATERIALIZED (
  -- Rows come out of unnest in order, so ids are drawn in order; a line whose event id was used before draws none.
  SELECT CASE WHEN k.rows = 0 THEN nextval('consent_event_id_seq'::regclass) END AS id, u.*,
         k.rows AS stored_rows, k.first_event AS stored_event, k.fingerprint AS stored_fingerprint
  FROM unnest($2::uuid[], $3::text[], $4::int4[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[],
              $10::timestamptz[], $11::text[], $12::text[], $13::timestamptz[], $14::text[], $15::text[], $16::text[], $17::text[])
    WITH ORDINALITY AS u(customer_id, purpose_key, purpose_version, action, source, notice_version, regime, sensitive,
                         expires_at, ip_hash, user_agent, recorded_at, proof_reference, idempotency_key, fingerprint, payload, ord)
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS rows, min(c.event_id) AS first_event, min(c.fingerprint) AS fingerprint
    FROM consent_idempotency c
    WHERE c.client_id = $1::text AND c.idempotency_key = u.idempotency_key
  ) k
),
event AS (
  INSERT INTO consent_event (id, customer_id, purpose_key, purpose_version, action, source, notice_version, regime, sensitive,
                             expires_at, ip_hash, user_agent, recorded_at, imported_at, proof_reference)
  SELECT id, customer_id, purpose_key, purpose_version, action::"ConsentAction", source::"ConsentSource", notice_version,
         regime::"Regime", sensitive, expires_at AT TIME ZONE 'UTC', ip_hash, user_agent, recorded_at AT TIME ZONE 'UTC',
         now() AT TIME ZONE 'UTC', proof_reference
  FROM input WHERE id IS NOT NULL
),
keyed AS (
  INSERT INTO consent_idempotency (client_id, idempotency_key, purpose_key, fingerprint, event_id, created_at)
  SELECT $1::text, idempotency_key, purpose_key, fingerprint, id, now() AT TIME ZONE 'UTC'
  FROM input WHERE id IS NOT NULL
),
state AS (
  INSERT INTO consent_state (customer_id, purpose_key, regime, sensitive, action, purpose_version, expires_at,
                             source, last_event_id, updated_at)
  SELECT DISTINCT ON (customer_id, purpose_key, regime, sensitive)
         customer_id, purpose_key, regime::"Regime", sensitive, action::"ConsentAction", purpose_version,
         expires_at AT TIME ZONE 'UTC', source::"ConsentSource", id, recorded_at AT TIME ZONE 'UTC'
  FROM input WHERE id IS NOT NULL
  ORDER BY customer_id, purpose_key, regime, sensitive, recorded_at DESC, id DESC
  ON CONFLICT (customer_id, purpose_key, regime, sensitive) DO UPDATE SET
    action = EXCLUDED.action, purpose_version = EXCLUDED.purpose_version, expires_at = EXCLUDED.expires_at,
    source = EXCLUDED.source, last_event_id = EXCLUDED.last_event_id, updated_at = EXCLUDED.updated_at
  WHERE (consent_state.updated_at, consent_state.last_event_id) <= (EXCLUDED.updated_at, EXCLUDED.last_event_id)
  RETURNING last_event_id
),
outbox AS (
  INSERT INTO outbox_event (topic, customer_id, purpose_key, payload, created_at)
  SELECT $18::text, i.customer_id, i.purpose_key,
         i.payload::jsonb || jsonb_build_object('eventId', i.id::text, 'extracts', ${EXTRACTS_OF('i')}),
         now() AT TIME ZONE 'UTC'
  FROM input i JOIN state s ON s.last_event_id = i.id
  ORDER BY i.id
  RETURNING id
),
summary AS (SELECT count(*)::int AS propagated, max(id) AS last FROM outbox)
SELECT summary.propagated, summary.last::text AS "lastOutboxId",
       CASE WHEN summary.propagated > 0 THEN pg_notify('${OUTBOX_CHANNEL}', summary.last::text)::text END AS notified,
       (SELECT coalesce(json_agg(json_build_object(
          'ord', i.ord, 'rows', i.stored_rows, 'fingerprint', i.stored_fingerprint, 'eventId', i.stored_event::text)), '[]'::json)
        FROM input i WHERE i.stored_rows > 0) AS existing
FROM summary`;

interface ExistingRow {
  ord: number;
  rows: number;
  fingerprint: string;
  eventId: string;
}

/** What an event id recorded, for the message of a line that reuses it: read after the write, outside the lock. */
const STORED_FACTS = `
SELECT id::text AS "eventId", customer_id AS "customerId", purpose_key AS "purposeKey", purpose_version AS "purposeVersion",
       action::text AS action, source::text AS source, sensitive, notice_version AS "noticeVersion",
       (recorded_at AT TIME ZONE 'UTC') AS "recordedAt", (expires_at AT TIME ZONE 'UTC') AS "expiresAt",
       proof_reference AS "proofReference"
FROM consent_event WHERE id = ANY($1::bigint[])`;

/** The statement's parameters for `lines` (distinct event ids), which it writes in time order. */
export function prepareWrite(clientId: string, lines: readonly ResolvedLine[]): PreparedWrite {
  const ordered = [...lines].sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime() || a.line - b.line);
  const column = <T>(f: (l: ResolvedLine) => T) => ordered.map(f);
  return {
    lines: ordered,
    parameters: [
      clientId,
      column((l) => l.customerId),
      column((l) => l.purposeKey),
      column((l) => l.purposeVersion),
      column((l) => l.action),
      column((l) => l.source),
      column((l) => l.noticeVersion),
      column((l) => l.regime),
      column((l) => l.sensitive),
      column((l) => l.expiresAt?.toISOString() ?? null),
      column((l) => l.ipHash),
      column((l) => l.userAgent),
      column((l) => l.recordedAt.toISOString()),
      column((l) => l.proofReference),
      column((l) => l.eventId),
      column((l) => l.fingerprint),
      column((l) => JSON.stringify(changePayload(l))),
      CONSENT_CHANGED_TOPIC,
    ],
  };
}

/** Writes a prepared batch in one transaction; a line whose event id was used before is not written but returned. */
export async function writeBatch(pool: pg.Pool, prepared: PreparedWrite): Promise<WriteOutcome> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    let rows: { propagated: number; lastOutboxId: string | null; existing: ExistingRow[] }[];
    try {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [LEDGER_LOCK]);
      rows = (await client.query(WRITE, prepared.parameters)).rows;
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => {
        broken = rollback;
      });
      throw error;
    }
    const { propagated, lastOutboxId, existing } = rows[0];
    const earlier = new Map(existing.map((row) => [row.ord, row]));
    const outcome: WriteOutcome = {
      recorded: [],
      existing: [],
      propagated,
      lastOutboxId: lastOutboxId === null ? null : BigInt(lastOutboxId),
    };
    const reused: { line: ResolvedLine; row: ExistingRow }[] = [];
    prepared.lines.forEach((line, i) => {
      const row = earlier.get(i + 1);
      if (!row) outcome.recorded.push(line);
      else if (row.rows === 1 && row.fingerprint === line.fingerprint) {
        outcome.existing.push({ line, stored: { rows: 1, fingerprint: row.fingerprint, facts: null } });
      } else reused.push({ line, row });
    });
    if (reused.length > 0) {
      // Committed already: without these facts the messages only say less.
      const facts = await client.query(STORED_FACTS, [reused.map((r) => r.row.eventId)]).catch(() => ({ rows: [] }));
      const byId = new Map(facts.rows.map(({ eventId, ...f }) => [eventId as string, f as StoredKey['facts']]));
      for (const { line, row } of reused) {
        outcome.existing.push({ line, stored: { rows: row.rows, fingerprint: row.fingerprint, facts: byId.get(row.eventId) ?? null } });
      }
    }
    return outcome;
  } finally {
    // A connection that could not even roll back is dropped, not handed to the next request.
    client.release(broken);
  }
}

/** Whether `line` repeats what this client recorded under its event id (a duplicate), rather than reusing the id. */
export const repeats = (line: ResolvedLine, stored: StoredKey): boolean => stored.rows === 1 && stored.fingerprint === line.fingerprint;

export function reusedMessage(line: ResolvedLine, first: StoredKey): string {
  const differs = first.facts ? differences(first.facts, line) : [];
  const detail =
    differs.length > 0
      ? `this line differs in ${differs.join(', ')}`
      : first.rows > 1
        ? `it names ${first.rows} events there (a consent request for several purposes)`
        : 'this line differs in its proof (ipAddress or userAgent)';
  return (
    `eventId ${JSON.stringify(line.eventId)} was already used by this client for another event: ${detail}. ` +
    'Nothing was recorded for this line. Give each event its own eventId; send an eventId again only with the very same event.'
  );
}

export function repeatedMessage(line: ResolvedLine, first: ResolvedLine): string {
  return (
    `eventId ${JSON.stringify(line.eventId)} is also on line ${first.line} of this import, with another event: this line differs in ` +
    `${differences(first, line).join(', ') || 'its proof (ipAddress or userAgent)'}. Nothing was recorded for this line. ` +
    'Give each event its own eventId.'
  );
}
