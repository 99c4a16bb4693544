import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import type { Erasure, Prisma } from '../generated/prisma/client.ts';
import type { Masker } from '../masking/index.ts';
import { permits } from '../policy/decide.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import { PURPOSES } from '../policy/taxonomy.ts';
import type { DeploymentMode } from '../policy/types.ts';
import { LEDGER_LOCK } from '../consent/ledger.ts';
import { announceCommitted, OUTBOX_CHANNEL } from '../consent/notify.ts';
import { parseSubjectRef } from '../consent/subjects.ts';
import { CONSENT_CHANGED_TOPIC, type ConsentChangePayload, type SubjectRef } from '../consent/types.ts';
import { erasureSubjectHash } from './proof.ts';

// Erasure of a data subject (GDPR Art. 17). Two steps, so that a crash
// half-way is resumed rather than forgotten:
//
// 1. The request is recorded as PENDING, naming the subject, in a transaction
//    of its own: from then on the erasure will happen, whatever fails next.
// 2. One transaction deletes everything held on the subject, queues one
//    erasure notice per purpose, and turns the request into its proof (DONE,
//    the subject's id gone, only its keyed hash left). Either all of it
//    commits or none of it does; a PENDING request is completed by a retry of
//    the same request or at the next start (resumePendingErasures).
//
// The second step takes the ledger's advisory lock (src/consent/ledger.ts)
// before it touches the ledger or the outbox: a consent write for the subject
// cannot interleave (one that waited for the lock then finds no subject), and
// the notices get outbox ids in commit order, as every change does.

export interface RightsDeps {
  db: Database;
  /** CONSENTQL_MODE: the regime the policy applies, for which purposes' consumers may hold the subject. */
  mode: DeploymentMode;
  /** Computes each purpose's pseudonym of the subject for the notices. */
  masker: Masker;
  /** CONSENTQL_PROOF_KEY: the key of the erasure proof's hash. */
  proofKey: string;
}

export interface ErasureReceipt {
  id: string;
  subjectHash: string;
  status: 'PENDING' | 'DONE';
  source: string;
  requestedAt: Date;
  completedAt: Date | null;
  /** The subject had already been erased: this is the earlier proof, and nothing was done or sent again. */
  alreadyErased: boolean;
  /** Erasure notices this request queued (one per purpose); 0 when already erased. */
  notices: number;
}

type Tx = Prisma.TransactionClient;

/**
 * Erases the subject `ref` (by id or CRM id) and returns the proof. Erasing an
 * erased subject by id returns the existing proof (its CRM id is gone with it,
 * so by CRM id it is NOT_FOUND). `source` says who asked ("admin client ops").
 */
export async function eraseSubject(deps: RightsDeps, ref: SubjectRef, source: string): Promise<ErasureReceipt> {
  const { prisma } = deps.db;
  const customerId = await subjectIdOf(deps, ref);
  const subjectHash = erasureSubjectHash(customerId, deps.proofKey);
  let erasure = await prisma.erasure.findUnique({ where: { subjectHash } });
  if (erasure?.status === 'DONE') return receipt(erasure, true, 0);
  if (!erasure) {
    // Step 1, committed on its own. Two requests at once record one row.
    await deps.db.pool.query(
      `INSERT INTO erasure (subject_hash, customer_id, status, source, requested_at)
       VALUES ($1, $2::uuid, 'PENDING', $3, (now() AT TIME ZONE 'UTC'))
       ON CONFLICT (subject_hash) DO NOTHING`,
      [subjectHash, customerId, source],
    );
    erasure = await prisma.erasure.findUniqueOrThrow({ where: { subjectHash } });
  }
  const notices = await completeErasure(deps, erasure.id);
  const done = await prisma.erasure.findUniqueOrThrow({ where: { id: erasure.id } });
  // Another request (or a resume) completed it first: the same proof, no second notice.
  return receipt(done, notices === null, notices ?? 0);
}

/** The proof of an erasure of this customer id, if there was one (PENDING or DONE). */
export async function findErasure(deps: Pick<RightsDeps, 'db' | 'proofKey'>, customerId: string): Promise<ErasureReceipt | null> {
  const erasure = await deps.db.prisma.erasure.findUnique({ where: { subjectHash: erasureSubjectHash(customerId, deps.proofKey) } });
  return erasure ? receipt(erasure, erasure.status === 'DONE', 0) : null;
}

/**
 * Completes every PENDING erasure (a crash, or a failure, between the two
 * steps). Run at start-up, before the server takes requests; safe to run on
 * several instances at once. Returns how many it completed.
 */
export async function resumePendingErasures(deps: RightsDeps, logger?: Logger): Promise<number> {
  const pending = await deps.db.prisma.erasure.findMany({ where: { status: 'PENDING' }, select: { id: true }, orderBy: { id: 'asc' } });
  let completed = 0;
  for (const { id } of pending) {
    const notices = await completeErasure(deps, id);
    if (notices !== null) completed += 1;
    // The erasure id only: the subject is never logged.
    logger?.info({ erasure: String(id) }, 'pending erasure completed');
  }
  return completed;
}

async function subjectIdOf(deps: RightsDeps, ref: SubjectRef): Promise<string> {
  const { id, externalId } = parseSubjectRef(ref);
  if (id !== null) {
    const known = await deps.db.prisma.customer.findUnique({ where: { id }, select: { id: true } });
    if (known) return id;
    // Not a customer (any more): an erasure already recorded for it is answered with its proof.
    if (await findErasure(deps, id)) return id;
    throw new ConsentQLError('NOT_FOUND', `No customer with id ${id}, and no erasure of one. Check the identifier.`, {
      argument: 'subject.id',
      received: id,
    });
  }
  const row = await deps.db.prisma.customer.findUnique({ where: { externalId }, select: { id: true } });
  if (!row) {
    throw new ConsentQLError(
      'NOT_FOUND',
      `No customer with externalId ${JSON.stringify(externalId)}. An erased subject keeps no CRM id: to check an earlier erasure, ` +
        'ask by the customer id.',
      { argument: 'subject.externalId', received: externalId },
    );
  }
  return row.id;
}

/**
 * Everything naming the subject, children first. The customer's own records
 * would go with it through ON DELETE CASCADE; deleting them by name keeps
 * the erasure complete should a relation ever lose its cascade. The outbox
 * rows of the subject go with their deliveries: the feed and the webhooks
 * then know the subject only through the erasure notices (a delivery already
 * being sent ends normally; its row is gone, so it is not retried).
 */
const ERASE_LEDGER = [
  'DELETE FROM webhook_delivery WHERE outbox_event_id IN (SELECT id FROM outbox_event WHERE customer_id = $1::uuid)',
  'DELETE FROM outbox_event WHERE customer_id = $1::uuid',
  'DELETE FROM consent_idempotency WHERE event_id IN (SELECT id FROM consent_event WHERE customer_id = $1::uuid)',
  'DELETE FROM consent_state WHERE customer_id = $1::uuid',
  'DELETE FROM consent_event WHERE customer_id = $1::uuid',
  'DELETE FROM extract_member WHERE customer_id = $1::uuid',
  'DELETE FROM order_item WHERE customer_id = $1::uuid',
  'DELETE FROM "order" WHERE customer_id = $1::uuid',
  'DELETE FROM ticket_message WHERE customer_id = $1::uuid',
  'DELETE FROM support_ticket WHERE customer_id = $1::uuid',
  'DELETE FROM marketing_interaction WHERE customer_id = $1::uuid',
  'DELETE FROM web_event WHERE customer_id = $1::uuid',
  'DELETE FROM customer WHERE id = $1::uuid',
];

/** One row per notice, in purpose order; pg_notify wakes every instance's change hub (delivered at commit). */
const QUEUE_NOTICES = `
WITH queued AS (
  INSERT INTO outbox_event (topic, customer_id, purpose_key, payload, created_at)
  SELECT $1, NULL, n.payload->>'purpose', n.payload, ($2::timestamptz AT TIME ZONE 'UTC')
    FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS n(payload, position)
   ORDER BY n.position
  RETURNING id
)
SELECT max(id)::text AS last, count(*)::int AS queued, pg_notify('${OUTBOX_CHANNEL}', max(id)::text)::text AS notified FROM queued`;

/**
 * Step 2: erases the subject of a PENDING erasure and marks it DONE, in one
 * transaction. Returns the notices queued, or null when it was already DONE.
 */
async function completeErasure(deps: RightsDeps, erasureId: bigint): Promise<number | null> {
  const now = new Date();
  const outcome = await deps.db.prisma.$transaction(
    async (tx) => {
      const [row] = await tx.$queryRawUnsafe<{ status: string; customerId: string | null }[]>(
        `SELECT status::text AS status, customer_id::text AS "customerId" FROM erasure WHERE id = $1::bigint FOR UPDATE`,
        erasureId,
      );
      if (!row || row.status === 'DONE' || !row.customerId) return null;
      const customerId = row.customerId;
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1::bigint)', LEDGER_LOCK);
      const extracts = await extractsOf(tx, customerId);
      const told = await purposesHolding(tx, customerId, extracts.keys(), deps.mode, now);
      for (const statement of ERASE_LEDGER) await tx.$executeRawUnsafe(statement, customerId);
      // No access record may name the subject from here to the commit: the SHARE lock waits for the
      // access log's writes in flight (which saw the customer), and a write that comes later waits
      // for this commit before it takes its snapshot (a table lock is taken when the statement is
      // parsed, src/audit/access-log.ts), then finds no customer. Rarely held, briefly: reads are
      // not blocked, only the batched writes of their records. Those rows are read and deleted
      // below; the access_record rows themselves name no subject: only their counts remain.
      await tx.$executeRawUnsafe('LOCK TABLE access_subject IN SHARE MODE');
      for (const { purpose } of await tx.$queryRawUnsafe<{ purpose: string }[]>(READ_PURPOSES, customerId)) told.add(purpose);
      await tx.$executeRawUnsafe('DELETE FROM access_subject WHERE customer_id = $1::uuid', customerId);
      const notices = PURPOSES.filter((purpose) => told.has(purpose.key)).map((purpose) =>
        erasureNotice(deps.masker, customerId, purpose, extracts.get(purpose.key) ?? [], now),
      );
      // No purpose may hold the subject (nothing permitted, chosen, read or extracted): nothing to tell.
      const [queued] =
        notices.length === 0
          ? [{ last: null, queued: 0 }]
          : await tx.$queryRawUnsafe<{ last: string; queued: number }[]>(
              QUEUE_NOTICES,
              CONSENT_CHANGED_TOPIC,
              now.toISOString(),
              JSON.stringify(notices),
            );
      await tx.$executeRawUnsafe(
        `UPDATE erasure SET status = 'DONE', customer_id = NULL, completed_at = ($2::timestamptz AT TIME ZONE 'UTC') WHERE id = $1::bigint`,
        erasureId,
        now.toISOString(),
      );
      return { last: queued.last === null ? null : BigInt(queued.last), queued: queued.queued };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  if (!outcome) return null;
  if (outcome.last !== null) announceCommitted(deps.db, outcome.last);
  return outcome.queued;
}

/** The purposes under which the subject's data was read (access_subject rows, before they are deleted). */
const READ_PURPOSES = `SELECT DISTINCT a.purpose_key AS purpose
  FROM access_subject s JOIN access_record a ON a.id = s.record_id
 WHERE s.customer_id = $1::uuid`;

/**
 * The purposes whose consumers may hold something of the subject, and so are
 * told of the erasure: those the policy lets use the subject's data now (a
 * read may have happened a moment ago), those the subject ever chose about
 * (their consumers got the changes), and those with an extract holding the
 * subject; READ_PURPOSES adds those under which the subject was read. The
 * others' consumers never received the subject, not even as a pseudonym, and
 * an erasure notice would hand them one. With no customer row (deleted by
 * other means before the erasure completed, its ledger with it), only the
 * purposes of the extracts and reads, which outlive it.
 */
async function purposesHolding(
  tx: Tx,
  customerId: string,
  extracted: Iterable<string>,
  mode: DeploymentMode,
  now: Date,
): Promise<Set<string>> {
  const told = new Set(extracted);
  const [subject] = await tx.$queryRawUnsafe<{ country: string | null; region: string | null; birthDate: Date | null; chosen: string[] }[]>(
    `SELECT c.country, c.region, c.birth_date AS "birthDate",
            ARRAY(SELECT DISTINCT purpose_key FROM consent_event WHERE customer_id = c.id) AS chosen
       FROM customer c WHERE c.id = $1::uuid`,
    customerId,
  );
  if (!subject) return told;
  const consents = await tx.consentState.findMany({
    where: { customerId },
    select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true },
  });
  const today = { regime: regimeOf(subject.country, subject.region, mode), minor: isMinor(subject.birthDate, now), consents };
  for (const purpose of PURPOSES) if (permits(purpose, today, false, now).effect === 'allow') told.add(purpose.key);
  for (const purpose of subject.chosen) told.add(purpose);
  return told;
}

/** The extracts holding the subject, by purpose: each purpose's consumers learn which of theirs to clean. */
async function extractsOf(tx: Tx, customerId: string): Promise<Map<string, string[]>> {
  const rows = await tx.$queryRawUnsafe<{ purpose: string; ids: string[] }[]>(
    `SELECT e.purpose_key AS purpose, array_agg(e.id::text ORDER BY e.id) AS ids
       FROM extract_member m JOIN extract e ON e.id = m.extract_id
      WHERE m.customer_id = $1::uuid
      GROUP BY e.purpose_key`,
    customerId,
  );
  return new Map(rows.map((r) => [r.purpose, r.ids]));
}

/**
 * An erasure notice of one purpose: a withdrawal (so that a consumer that
 * handles withdrawals drops the subject even if it knows nothing of erasure)
 * flagged `erased`. It names the subject only by the pseudonyms its readers
 * know it by, computed now: under the purpose, and under consent management,
 * which reads every purpose's changes. Neither our id nor the CRM's is kept.
 */
export function erasureNotice(
  masker: Masker,
  customerId: string,
  purpose: { key: string; version: number },
  extracts: readonly string[],
  now: Date,
): ConsentChangePayload {
  return {
    eventId: null,
    customerId: null,
    externalId: null,
    purpose: purpose.key,
    purposeVersion: purpose.version,
    action: 'WITHDRAW',
    erased: true,
    regime: null,
    sensitive: false,
    source: null,
    noticeVersion: null,
    expiresAt: null,
    recordedAt: now.toISOString(),
    subjectKeys: {
      [purpose.key]: masker.pseudonym(customerId, purpose.key),
      consent_management: masker.pseudonym(customerId, 'consent_management'),
    },
    extracts: [...extracts],
  };
}

function receipt(erasure: Erasure, alreadyErased: boolean, notices: number): ErasureReceipt {
  return {
    id: String(erasure.id),
    subjectHash: erasure.subjectHash,
    status: erasure.status,
    source: erasure.source,
    requestedAt: erasure.requestedAt,
    completedAt: erasure.completedAt,
    alreadyErased,
    notices,
  };
}
