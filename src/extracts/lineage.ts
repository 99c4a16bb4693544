import type pg from 'pg';
import { LEDGER_LOCK } from '../consent/ledger.ts';
import { announceCommitted, OUTBOX_CHANNEL } from '../consent/notify.ts';
import type { Database } from '../db/database.ts';
import type { Masker } from '../masking/index.ts';

// Lineage notices that the ledger could not attach itself.
//
// A withdrawal's outbox row lists the extracts holding the subject (the
// ledger's APPEND statement reads extract_member). An extract's members are
// written, in one statement and from the extract's own snapshot, while its
// rows stream; a withdrawal committed after that snapshot is not in the
// snapshot, so the subject is in the extract; but if the withdrawal's
// statement started before the members committed, it did not see them (a
// statement reads what was committed when it started, even though it takes
// the ledger lock later). Such a withdrawal would reach consumers without the
// extract's id. So once the members have committed, the extract takes the
// ledger lock itself: every consent write that could have missed the members
// has been waiting for that lock ahead of it, and so has committed; those
// writes are the outbox rows after the snapshot's last one, of the purpose,
// withdrawing or opting out a member, whose `extracts` lack this one. Each
// gets a second notice, the same change naming this extract, in the same
// outbox order as any other write (under the lock). Writes that start after
// the members committed see them and need nothing.

const LATE_NOTICES = `
WITH late AS (
  SELECT o.id, o.topic, o.customer_id, o.purpose_key, o.payload, o.created_at
    FROM outbox_event o
    JOIN extract_member m ON m.customer_id = o.customer_id AND m.extract_id = $1::bigint
   WHERE o.id > $2::bigint
     AND o.purpose_key = $3::text
     AND o.payload->>'action' IN ('WITHDRAW', 'OPT_OUT')
     AND NOT coalesce(o.payload->'extracts', '[]'::jsonb) ? $1::text
),
added AS (
  INSERT INTO outbox_event (topic, customer_id, purpose_key, payload, created_at)
  SELECT topic, customer_id, purpose_key, jsonb_set(payload, '{extracts}', jsonb_build_array($1::text)), created_at
    FROM late ORDER BY id
  RETURNING id
)
SELECT count(*)::int AS n, max(id)::text AS last,
       CASE WHEN max(id) IS NOT NULL THEN pg_notify('${OUTBOX_CHANNEL}', max(id)::text)::text END AS notified
  FROM added`;

// An erasure committed after the snapshot but before the lineage is the same
// race with a worse end: the erasure removed the subject's lineage before this
// extract's was written, so the extract's INSERT (reading its snapshot, where
// the subject still exists) puts back a row naming an erased subject, and the
// erasure's notice lacks this extract. Under the same lock: if an erasure of
// the purpose was queued after the snapshot, members without a customer are
// found, their erasure notices sent again naming this extract (matched by the
// pseudonym the notice carries), and their rows deleted.

const ERASED_SINCE = `SELECT EXISTS (
  SELECT 1 FROM outbox_event o
   WHERE o.id > $1::bigint AND o.purpose_key = $2::text AND o.customer_id IS NULL AND o.payload->>'erased' = 'true') AS erased`;

const ORPHANS = `SELECT m.customer_id::text AS id FROM extract_member m
  WHERE m.extract_id = $1::bigint AND NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = m.customer_id)`;

const LATE_ERASURE_NOTICES = `
WITH late AS (
  SELECT o.id, o.topic, o.purpose_key, o.payload, o.created_at
    FROM outbox_event o
   WHERE o.id > $2::bigint AND o.purpose_key = $3::text AND o.customer_id IS NULL AND o.payload->>'erased' = 'true'
     AND o.payload->'subjectKeys'->>$3::text = ANY($4::text[])
     AND NOT coalesce(o.payload->'extracts', '[]'::jsonb) ? $1::text
),
added AS (
  INSERT INTO outbox_event (topic, customer_id, purpose_key, payload, created_at)
  SELECT topic, NULL, purpose_key, jsonb_set(payload, '{extracts}', jsonb_build_array($1::text)), created_at
    FROM late ORDER BY id
  RETURNING id
),
forgotten AS (
  DELETE FROM extract_member WHERE extract_id = $1::bigint AND customer_id = ANY($5::uuid[])
)
SELECT count(*)::int AS n, max(id)::text AS last,
       CASE WHEN max(id) IS NOT NULL THEN pg_notify('${OUTBOX_CHANNEL}', max(id)::text)::text END AS notified
  FROM added`;

/**
 * Sends the notices naming `extractId` that consent writes committed after its
 * snapshot (outbox ids above `outboxMark`) could not carry. Call once the
 * extract's members have committed. Returns how many were sent.
 */
export async function sendLateNotices(
  db: Database,
  masker: Masker,
  extractId: string,
  purposeKey: string,
  outboxMark: string,
): Promise<number> {
  const client: pg.PoolClient = await db.pool.connect();
  let last: string | null = null;
  let sent = 0;
  try {
    await client.query('BEGIN');
    // Its own statement: the next one then reads everything committed before the lock was granted.
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [LEDGER_LOCK]);
    const { rows } = await client.query<{ n: number; last: string | null }>(LATE_NOTICES, [extractId, outboxMark, purposeKey]);
    sent = rows[0]?.n ?? 0;
    last = rows[0]?.last ?? null;
    const erased = await client.query<{ erased: boolean }>(ERASED_SINCE, [outboxMark, purposeKey]);
    if (erased.rows[0]?.erased) {
      // Rare (an erasure during the extract): only then are the extract's members checked.
      const orphans = (await client.query<{ id: string }>(ORPHANS, [extractId])).rows.map((r) => r.id);
      if (orphans.length > 0) {
        const keys = orphans.map((id) => masker.pseudonym(id, purposeKey));
        const late = await client.query<{ n: number; last: string | null }>(LATE_ERASURE_NOTICES, [
          extractId,
          outboxMark,
          purposeKey,
          keys,
          orphans,
        ]);
        sent += late.rows[0]?.n ?? 0;
        last = late.rows[0]?.last ?? last;
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  if (last !== null) announceCommitted(db, BigInt(last));
  return sent;
}
