import type { Database } from '../db/database.ts';
import { ConsentQLError, sqlStateOf } from '../errors.ts';
import type { ConsentEvent, Prisma } from '../generated/prisma/client.ts';
import { findPurpose } from '../policy/taxonomy.ts';
import { regimeOf } from '../policy/regime.ts';
import { GPC_OPT_OUT_PURPOSES, gpcIsLegalOptOut } from '../policy/universal-opt-out.ts';
import { keyReused, requestFingerprint } from './idempotency.ts';
import { announceCommitted, OUTBOX_CHANNEL } from './notify.ts';
import { findSubject, type SubjectRecord } from './subjects.ts';
import { CONSENT_CHANGED_TOPIC, type ConsentChangePayload, type ConsentRequest, type GpcOutcome, type Regime } from './types.ts';

// The consent ledger. One transaction appends the events, derives the state
// of each scope and writes the outbox rows, so a change is never recorded
// without being propagated, nor propagated without being recorded.
//
// Every ledger transaction takes one advisory lock. Serialising consent
// writes buys two things: outbox ids are assigned in commit order (so a reader
// following `id > cursor` never skips a row that commits late), and a retried
// idempotency key cannot race itself. The lock is taken by the statement that
// appends (APPEND below), so it is held for that statement and the COMMIT
// only: one round trip, not one per write. A keyed request takes it before
// looking its key up, and that lookup is one probe of an index
// (consent_idempotency's primary key, exact match): nothing scans the ledger
// while the lock is held.
export const LEDGER_LOCK = 0x436f6e73; // "Cons"

type Tx = Prisma.TransactionClient;

export interface RecordResult {
  events: ConsentEvent[];
  /** The idempotency key matched an earlier request: these are its events. */
  replayed: boolean;
  gpc: GpcOutcome | null;
}

export async function recordConsent(db: Database, request: ConsentRequest): Promise<RecordResult> {
  const subject = await findSubject(db.prisma, request.subject);
  const regime = regimeOf(subject.country, subject.region, request.mode);
  const keyed: KeyedRequest | null = request.idempotencyKey
    ? { clientId: request.clientId, key: request.idempotencyKey, fingerprint: requestFingerprint(subject.id, request) }
    : null;
  let lastOutboxId: bigint | null = null;
  let written: ConsentEvent[] = [];
  const result = await db.prisma
    .$transaction(
      async (tx) => {
        if (keyed) {
          // Before looking for an earlier request with this key: two retries must not both miss it.
          await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1::bigint)', LEDGER_LOCK);
          const earlier = await replayed(tx, keyed, request, subject);
          if (earlier) return { events: earlier, replayed: true, gpc: null };
        }

        const now = new Date();
        const events: ConsentEvent[] = [];
        for (const key of request.purposes) {
          const event = await append(tx, subject, regime, now, {
            purposeKey: key,
            action: request.action,
            source: request.source,
            sensitive: request.sensitive,
            noticeVersion: request.noticeVersion,
            expiresAt: request.expiresAt,
            ipHash: request.ipHash,
            userAgent: request.userAgent,
            keyed,
          });
          events.push(event.event);
          lastOutboxId = event.outboxId;
        }
        const gpc = request.gpcSignal ? await honourGpc(tx, request, subject, regime, now) : null;
        if (gpc?.outboxId) lastOutboxId = gpc.outboxId;
        written = [...events, ...(gpc?.recorded ?? [])];
        return { events, replayed: false, gpc: gpc?.outcome ?? null };
      },
      { timeout: 15_000, maxWait: 10_000 },
    )
    .catch((error: unknown) => {
      // The subject was found, then erased while this write waited for the ledger's lock (src/rights/erase.ts).
      if (sqlStateOf(error) !== '23503') throw error;
      // What the caller sent, not our id: a caller that named the subject by CRM id never had it.
      throw new ConsentQLError(
        'NOT_FOUND',
        `No customer ${JSON.stringify(request.subject)} any more: the subject was erased while this request waited. Nothing was recorded.`,
        { argument: 'subject', received: request.subject },
      );
    });
  if (lastOutboxId !== null) announceCommitted(db, lastOutboxId);
  if (written.length > 0) db.signals.consentRecorded.emit(written);
  return result;
}

/**
 * A request that records only what a Global Privacy Control signal requires
 * (see honourGpc): a visit or call carrying `Sec-GPC: 1` and no choice of its own.
 */
export function gpcSignalRequest(
  subject: ConsentRequest['subject'],
  proof: Pick<ConsentRequest, 'ipHash' | 'userAgent'>,
  clientId: string,
  mode: ConsentRequest['mode'],
): ConsentRequest {
  return {
    subject,
    purposes: [],
    action: 'OPT_OUT',
    source: 'GPC',
    sensitive: false,
    noticeVersion: null,
    expiresAt: null,
    ...proof,
    idempotencyKey: null,
    clientId,
    gpcSignal: true,
    mode,
  };
}

/** A request that carried an idempotency key: keys are per client, matched exactly. */
interface KeyedRequest {
  clientId: string;
  key: string;
  /** requestFingerprint() of the request (src/consent/idempotency.ts). */
  fingerprint: string;
}

/** The columns of a consent_event row `e`, as Prisma names them (a ConsentEvent). */
const eventColumns = (e: string) => `${e}.id, ${e}.customer_id AS "customerId", ${e}.purpose_key AS "purposeKey",
       ${e}.purpose_version AS "purposeVersion", ${e}.action::text AS action, ${e}.source::text AS source,
       ${e}.notice_version AS "noticeVersion", ${e}.regime::text AS regime, ${e}.sensitive,
       ${e}.expires_at AS "expiresAt", ${e}.ip_hash AS "ipHash", ${e}.user_agent AS "userAgent",
       ${e}.recorded_at AS "recordedAt"`;

/**
 * The events recorded under a client's key, oldest first, with the fingerprint
 * of the request that recorded them: equality on the leading columns of
 * consent_idempotency's primary key, then the events by their primary key.
 */
export const FIND_BY_KEY = `
SELECT i.fingerprint, ${eventColumns('e')}
FROM consent_idempotency i
JOIN consent_event e ON e.id = i.event_id
WHERE i.client_id = $1 AND i.idempotency_key = $2
ORDER BY e.id`;

/**
 * The events an earlier request with the same idempotency key recorded, when
 * it asked for the same thing; a key reused for a different request is an error.
 */
async function replayed(tx: Tx, keyed: KeyedRequest, request: ConsentRequest, subject: SubjectRecord): Promise<ConsentEvent[] | null> {
  const rows = await tx.$queryRawUnsafe<(ConsentEvent & { fingerprint: string })[]>(FIND_BY_KEY, keyed.clientId, keyed.key);
  if (rows.length === 0) return null;
  if (rows.some((r) => r.fingerprint !== keyed.fingerprint)) throw keyReused(keyed.key, subject.id, request, rows);
  return rows.map(({ fingerprint: _, ...event }) => event);
}

/** One event's own fields: the request's choice, for one of its purposes. */
type EventFields = Omit<ConsentRequest, 'subject' | 'purposes' | 'clientId' | 'gpcSignal' | 'mode' | 'idempotencyKey'> & {
  purposeKey: string;
  /** The request's key, for a keyed request: stored with the event, in consent_idempotency. */
  keyed: KeyedRequest | null;
};

/**
 * The ids of the purpose's extracts that hold the subject of event row `e`, as a
 * JSON array of strings, for a withdrawal or an opt-out (empty otherwise): so a
 * consumer that trained on an extract learns to drop the subject from it. One
 * probe of extract_member's primary key (customer first), then the extracts by
 * theirs. An extract whose members commit while this statement waits for the
 * ledger lock is not seen here; src/extracts/lineage.ts sends those notices.
 */
export const EXTRACTS_OF = (e: string) => `CASE WHEN ${e}.action IN ('WITHDRAW', 'OPT_OUT') THEN coalesce((
    SELECT jsonb_agg(m.extract_id::text ORDER BY m.extract_id)
      FROM extract_member m JOIN extract x ON x.id = m.extract_id
     WHERE m.customer_id = ${e}.customer_id AND x.purpose_key = ${e}.purpose_key), '[]'::jsonb)
  ELSE '[]'::jsonb END`;

/**
 * Appends one event, makes it the state of its scope, queues it for downstream
 * systems, records the request's idempotency key if it had one, and notifies
 * listeners (delivered only if the transaction commits): one statement, which
 * first takes the ledger lock.
 */
const APPEND = `
WITH locked AS (SELECT pg_advisory_xact_lock(${LEDGER_LOCK}::bigint)),
event AS (
  INSERT INTO consent_event (customer_id, purpose_key, purpose_version, action, source, notice_version, regime,
                             sensitive, expires_at, ip_hash, user_agent, recorded_at)
  SELECT $1::uuid, $2, $3::int, $4::"ConsentAction", $5::"ConsentSource", $6, $7::"Regime",
         $8::boolean, ($9::timestamptz AT TIME ZONE 'UTC'), $10, $11, ($12::timestamptz AT TIME ZONE 'UTC')
  FROM locked
  RETURNING *
),
state AS (
  INSERT INTO consent_state (customer_id, purpose_key, regime, sensitive, action, purpose_version, expires_at,
                             source, last_event_id, updated_at)
  SELECT customer_id, purpose_key, regime, sensitive, action, purpose_version, expires_at, source, id, recorded_at
  FROM event
  ON CONFLICT (customer_id, purpose_key, regime, sensitive) DO UPDATE SET
    action = EXCLUDED.action, purpose_version = EXCLUDED.purpose_version, expires_at = EXCLUDED.expires_at,
    source = EXCLUDED.source, last_event_id = EXCLUDED.last_event_id, updated_at = EXCLUDED.updated_at
),
outbox AS (
  INSERT INTO outbox_event (topic, customer_id, purpose_key, payload, created_at)
  SELECT $13, customer_id, purpose_key, $14::jsonb || jsonb_build_object('eventId', id::text, 'extracts', ${EXTRACTS_OF('event')}), recorded_at
  FROM event
  RETURNING id
),
keyed AS (
  INSERT INTO consent_idempotency (client_id, idempotency_key, purpose_key, fingerprint, event_id, created_at)
  SELECT $15::text, $16::text, purpose_key, $17::text, id, recorded_at
  FROM event
  WHERE $16::text IS NOT NULL
)
SELECT ${eventColumns('event')},
       outbox.id AS "outboxId", pg_notify('${OUTBOX_CHANNEL}', outbox.id::text)::text AS notified
FROM event, outbox`;

/** What a recorded event says, for its outbox payload. */
export interface ChangeFacts {
  customerId: string;
  externalId: string;
  purposeKey: string;
  purposeVersion: number;
  action: ConsentChangePayload['action'];
  regime: Regime;
  sensitive: boolean;
  source: NonNullable<ConsentChangePayload['source']>;
  noticeVersion: string | null;
  expiresAt: Date | null;
  recordedAt: Date;
}

/** The outbox payload of a recorded event, but for its event id and extracts, which the writing statement adds (APPEND, the import's). */
export function changePayload(f: ChangeFacts): Omit<ConsentChangePayload, 'eventId' | 'extracts'> {
  return {
    customerId: f.customerId,
    externalId: f.externalId,
    purpose: f.purposeKey,
    purposeVersion: f.purposeVersion,
    action: f.action,
    regime: f.regime,
    sensitive: f.sensitive,
    source: f.source,
    noticeVersion: f.noticeVersion,
    expiresAt: f.expiresAt?.toISOString() ?? null,
    recordedAt: f.recordedAt.toISOString(),
  };
}

async function append(tx: Tx, subject: SubjectRecord, regime: Regime, now: Date, fields: EventFields) {
  const purpose = findPurpose(fields.purposeKey)!;
  // Everything of the payload but the event id, which the statement adds.
  const payload = changePayload({
    customerId: subject.id,
    externalId: subject.externalId,
    purposeKey: fields.purposeKey,
    purposeVersion: purpose.version,
    action: fields.action,
    regime,
    sensitive: fields.sensitive,
    source: fields.source,
    noticeVersion: fields.noticeVersion,
    expiresAt: fields.expiresAt,
    recordedAt: now,
  });
  const [row] = await tx.$queryRawUnsafe<(ConsentEvent & { outboxId: bigint; notified: string })[]>(
    APPEND,
    subject.id,
    fields.purposeKey,
    purpose.version,
    fields.action,
    fields.source,
    fields.noticeVersion,
    regime,
    fields.sensitive,
    fields.expiresAt?.toISOString() ?? null,
    fields.ipHash,
    fields.userAgent,
    now.toISOString(),
    CONSENT_CHANGED_TOPIC,
    JSON.stringify(payload),
    fields.keyed?.clientId ?? null,
    fields.keyed?.key ?? null,
    fields.keyed?.fingerprint ?? null,
  );
  const { outboxId, notified: _, ...event } = row;
  return { event, outboxId: BigInt(outboxId) };
}

/**
 * `Sec-GPC: 1` opts the subject out of sale/sharing where their state's law
 * makes it a valid opt-out. Idempotent: nothing is recorded when the scope is
 * already negative, so a browser sending the header on every visit leaves one
 * event. An explicit choice for the same purpose in this request wins: that is
 * the subject confirming a business-specific setting.
 */
async function honourGpc(tx: Tx, request: ConsentRequest, subject: SubjectRecord, regime: Regime, now: Date) {
  const recorded: ConsentEvent[] = [];
  const outcome = (honoured: boolean, reason: GpcOutcome['reason'], eventId: bigint | null = null, outboxId: bigint | null = null) => ({
    outcome: { honoured, reason, eventId },
    outboxId,
    recorded,
  });
  if (!gpcIsLegalOptOut(subject.country, subject.region)) return outcome(false, 'NOT_REQUIRED_FOR_RESIDENCE');
  if (GPC_OPT_OUT_PURPOSES.some((p) => request.purposes.includes(p))) return outcome(false, 'EXPLICIT_CHOICE_IN_REQUEST');
  let last: { eventId: bigint; outboxId: bigint } | null = null;
  for (const purposeKey of GPC_OPT_OUT_PURPOSES) {
    const state = await tx.consentState.findUnique({
      where: { customerId_purposeKey_regime_sensitive: { customerId: subject.id, purposeKey, regime, sensitive: false } },
      select: { action: true },
    });
    if (state && (state.action === 'OPT_OUT' || state.action === 'WITHDRAW')) continue;
    const appended = await append(tx, subject, regime, now, {
      purposeKey,
      action: 'OPT_OUT',
      source: 'GPC',
      sensitive: false,
      noticeVersion: request.noticeVersion,
      expiresAt: null,
      ipHash: request.ipHash,
      userAgent: request.userAgent,
      keyed: null,
    });
    recorded.push(appended.event);
    last = { eventId: appended.event.id, outboxId: appended.outboxId };
  }
  return last ? outcome(true, 'RECORDED', last.eventId, last.outboxId) : outcome(true, 'ALREADY_OPTED_OUT');
}
