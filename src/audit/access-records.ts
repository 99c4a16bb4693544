import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';

// Reading access records back: for an admin (by subject, client or purpose)
// and for a subject on their own consent-center page. Newest first, by
// keyset (occurred_at, record id) on the indexes the tables have, so a page
// deep in a long history costs what the first one does. A cursor is the
// position of the last row shown: it names no subject, and every page applies
// its filter again, so a cursor made up by hand reaches nothing more.

export const MAX_PAGE = 100;

/** One subject's part in one read: what was returned of them and what masked. */
export interface SubjectAccessEntry {
  recordId: string;
  customerId: string;
  clientId: string | null;
  /** The api_client's name; null for a client deleted since. */
  clientName: string | null;
  purposeKey: string;
  operation: string | null;
  /** Tagged fields (`Customer.email`) returned in clear. */
  returned: string[];
  /** Tagged fields masked (nulled, tokenised, generalised). */
  masked: string[];
  occurredAt: Date;
}

/** One read, with every subject it touched summed up. */
export interface AccessRecordEntry {
  recordId: string;
  clientId: string | null;
  clientName: string | null;
  purposeKey: string;
  operation: string | null;
  /** Tagged fields returned in clear for at least one subject. */
  fieldsReturned: string[];
  /** Tagged fields masked for at least one subject (from the per-subject rows). */
  fieldsMasked: string[];
  /** Masked values in the response. */
  maskedValues: number;
  subjects: number;
  rowsExcluded: number | null;
  occurredAt: Date;
}

export interface Page<T> {
  entries: T[];
  /** Pass as `after` for the next (older) page; null when there is none. */
  endCursor: string | null;
  hasMore: boolean;
}

interface Position {
  at: string;
  id: string;
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(\d{1,19})$/;

export function encodeCursor(occurredAt: Date, recordId: string): string {
  return Buffer.from(`${occurredAt.toISOString()}|${recordId}`, 'utf8').toString('base64url');
}

/** The position an `after` cursor names; a cursor this API did not issue is INVALID_CURSOR. */
export function decodeCursor(cursor: string | null | undefined): Position | null {
  if (cursor == null || cursor === '') return null;
  const match = cursor.length <= 80 ? CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!match || Number.isNaN(Date.parse(match[1]))) {
    throw new ConsentQLError(
      'INVALID_CURSOR',
      'after expects the endCursor of an earlier page of access records, but got a value this API did not issue. Start again without it.',
      { argument: 'after' },
    );
  }
  return { at: match[1], id: match[2] };
}

export function pageSize(first: number | null | undefined, fallback = 20): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
    throw new ConsentQLError('BAD_USER_INPUT', `first expects a page size from 1 to ${MAX_PAGE}, but got ${size}. Page on with after.`, {
      argument: 'first',
      received: size,
    });
  }
  return size;
}

function pageOf<R extends { occurredAt: Date; recordId: string }>(rows: R[], size: number): Page<R> {
  const hasMore = rows.length > size;
  const entries = hasMore ? rows.slice(0, size) : rows;
  const last = entries.at(-1);
  return { entries, hasMore, endCursor: hasMore && last ? encodeCursor(last.occurredAt, last.recordId) : null };
}

/** UTC wall time, as Prisma keeps it in `timestamp` columns. */
const utc = (value: Date | string): Date => (value instanceof Date ? value : new Date(`${value}Z`));

const SUBJECT_PAGE = `
SELECT s.record_id::text AS "recordId", s.customer_id AS "customerId", a.client_id AS "clientId", c.name AS "clientName",
       a.purpose_key AS "purposeKey", a.operation, coalesce(s.returned, '{}') AS returned, coalesce(s.masked, '{}') AS masked,
       to_char(s.occurred_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS "occurredAt"
  FROM access_subject s
  JOIN access_record a ON a.id = s.record_id
  LEFT JOIN api_client c ON c.id = a.client_id
 WHERE s.customer_id = $1::uuid
   AND ($2::timestamp IS NULL OR (s.occurred_at, s.record_id) < ($2::timestamp, $3::bigint))
 ORDER BY s.occurred_at DESC, s.record_id DESC
 LIMIT $4`;

/** A subject's access records, newest first. */
export async function subjectAccessPage(
  db: Database,
  customerId: string,
  options: { first?: number | null; after?: string | null } = {},
): Promise<Page<SubjectAccessEntry>> {
  const size = pageSize(options.first);
  const after = decodeCursor(options.after);
  const { rows } = await db.pool.query<Omit<SubjectAccessEntry, 'occurredAt'> & { occurredAt: string }>(SUBJECT_PAGE, [
    customerId,
    after?.at ?? null,
    after?.id ?? null,
    size + 1,
  ]);
  return pageOf(
    rows.map((r) => ({ ...r, occurredAt: utc(r.occurredAt) })),
    size,
  );
}

/** Reads by a client, for a purpose, or both, newest first. */
export async function accessRecordPage(
  db: Database,
  filter: { clientId?: string | null; purposeKey?: string | null },
  options: { first?: number | null; after?: string | null } = {},
): Promise<Page<AccessRecordEntry>> {
  const size = pageSize(options.first);
  const after = decodeCursor(options.after);
  const values: unknown[] = [];
  const where: string[] = [];
  // Equality on the leading column of (client_id, occurred_at) or (purpose_key, occurred_at).
  if (filter.clientId) where.push(`a.client_id = $${values.push(filter.clientId)}::uuid`);
  if (filter.purposeKey) where.push(`a.purpose_key = $${values.push(filter.purposeKey)}`);
  if (after) where.push(`(a.occurred_at, a.id) < ($${values.push(after.at)}::timestamp, $${values.push(after.id)}::bigint)`);
  const sql = `
SELECT a.id::text AS "recordId", a.client_id AS "clientId", c.name AS "clientName", a.purpose_key AS "purposeKey", a.operation,
       coalesce(a.fields_returned, '{}') AS "fieldsReturned",
       ARRAY(SELECT DISTINCT f FROM access_subject s, unnest(s.masked) AS f
              WHERE s.occurred_at = a.occurred_at AND s.record_id = a.id ORDER BY f) AS "fieldsMasked",
       a.fields_masked AS "maskedValues", a.subjects, a.rows_excluded AS "rowsExcluded",
       to_char(a.occurred_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS "occurredAt"
  FROM access_record a
  LEFT JOIN api_client c ON c.id = a.client_id
 ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
 ORDER BY a.occurred_at DESC, a.id DESC
 LIMIT $${values.push(size + 1)}`;
  const { rows } = await db.pool.query<Omit<AccessRecordEntry, 'occurredAt'> & { occurredAt: string }>(sql, values);
  return pageOf(
    rows.map((r) => ({ ...r, occurredAt: utc(r.occurredAt) })),
    size,
  );
}

/** The per-subject rows of the given records (one statement), by record, then subject. */
export async function subjectsOfRecords(
  db: Database,
  records: readonly Pick<AccessRecordEntry, 'recordId' | 'occurredAt'>[],
): Promise<SubjectAccessEntry[]> {
  if (records.length === 0) return [];
  const { rows } = await db.pool.query<Omit<SubjectAccessEntry, 'occurredAt'> & { occurredAt: string }>(
    `SELECT s.record_id::text AS "recordId", s.customer_id AS "customerId", a.client_id AS "clientId", c.name AS "clientName",
            a.purpose_key AS "purposeKey", a.operation, coalesce(s.returned, '{}') AS returned, coalesce(s.masked, '{}') AS masked,
            to_char(s.occurred_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS "occurredAt"
       FROM unnest($1::timestamp[], $2::bigint[]) AS k(occurred_at, record_id)
       JOIN access_subject s ON s.occurred_at = k.occurred_at AND s.record_id = k.record_id
       JOIN access_record a ON a.id = s.record_id
       LEFT JOIN api_client c ON c.id = a.client_id
      ORDER BY s.occurred_at DESC, s.record_id DESC, s.customer_id`,
    [records.map((r) => r.occurredAt.toISOString()), records.map((r) => r.recordId)],
  );
  return rows.map((r) => ({ ...r, occurredAt: utc(r.occurredAt) }));
}

// The subject's consent-center page shows, beside the reads, each complete
// extract (src/extracts) that holds them: a bulk copy made for a purpose is a
// use of their data too. Both kinds are merged newest first by (time, kind,
// id), reads before extracts at the same instant, with a cursor of its own.

/** A field an extract carried, with its decision under the purpose as the manifest records it (null where it does not). */
export interface ExtractFieldUse {
  field: string;
  decision: 'CLEAR' | 'CLEAR_WITH_SENSITIVE_CONSENT' | 'MASKED' | null;
}

/** A complete extract that holds the subject. */
export interface SubjectExtractEntry {
  extractId: string;
  clientId: string | null;
  /** The api_client's name; null for a client deleted since. */
  clientName: string | null;
  purposeKey: string;
  fields: ExtractFieldUse[];
  /** When the data was read: the extract's database snapshot. */
  occurredAt: Date;
}

export type SubjectActivity = ({ kind: 'read' } & SubjectAccessEntry) | ({ kind: 'extract' } & SubjectExtractEntry);

type ActivityKind = SubjectActivity['kind'];

const ACTIVITY_CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|(read|extract)\|(\d{1,19})$/;
/** Ids are positive: (t, 0) lies after every row at t in the newest-first order, (t, MAX) before every one. */
const BEFORE_ALL = '0';
const AFTER_ALL = '9223372036854775807';

const activityCursor = (entry: SubjectActivity): string =>
  Buffer.from(
    `${entry.occurredAt.toISOString()}|${entry.kind}|${entry.kind === 'read' ? entry.recordId : entry.extractId}`,
    'utf8',
  ).toString('base64url');

function decodeActivityCursor(cursor: string | null | undefined): { at: string; kind: ActivityKind; id: string } | null {
  if (cursor == null || cursor === '') return null;
  const match = cursor.length <= 100 ? ACTIVITY_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!match || Number.isNaN(Date.parse(match[1]))) {
    throw new ConsentQLError(
      'INVALID_CURSOR',
      'after expects the endCursor of an earlier page of this subject’s activity, but got a value this API did not issue. Start again without it.',
      { argument: 'after' },
    );
  }
  return { at: match[1], kind: match[2] as ActivityKind, id: match[3] };
}

// Each branch is a keyset range on an index led by the subject (access_subject's
// primary key; extract_member's, then extract by id) and takes at most a page
// plus one; the outer sort merges those few rows.
const ACTIVITY_PAGE = `
SELECT kind, id, "clientId", "clientName", "purposeKey", operation, returned, masked, decisions,
       to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS "occurredAt"
  FROM ((SELECT 'read' AS kind, s.record_id AS id, a.client_id AS "clientId", c.name AS "clientName", a.purpose_key AS "purposeKey",
                a.operation, coalesce(s.returned, '{}') AS returned, coalesce(s.masked, '{}') AS masked, NULL::jsonb AS decisions,
                s.occurred_at AS at
           FROM access_subject s
           JOIN access_record a ON a.id = s.record_id
           LEFT JOIN api_client c ON c.id = a.client_id
          WHERE s.customer_id = $1::uuid
            AND ($2::timestamp IS NULL OR (s.occurred_at, s.record_id) < ($2::timestamp, $3::bigint))
          ORDER BY s.occurred_at DESC, s.record_id DESC
          LIMIT $5)
        UNION ALL
        (SELECT 'extract', e.id, e.client_id, c.name, e.purpose_key, NULL, e.fields, '{}', e.manifest -> 'fields', e.snapshot_at
           FROM extract_member m
           JOIN extract e ON e.id = m.extract_id
           LEFT JOIN api_client c ON c.id = e.client_id
          WHERE m.customer_id = $1::uuid
            AND e.status = 'COMPLETE'
            AND ($2::timestamp IS NULL OR (e.snapshot_at, e.id) < ($2::timestamp, $4::bigint))
          ORDER BY e.snapshot_at DESC, e.id DESC
          LIMIT $5)) AS u
 ORDER BY at DESC, kind DESC, id DESC
 LIMIT $5`;

const DECISIONS = new Set(['CLEAR', 'CLEAR_WITH_SENSITIVE_CONSENT', 'MASKED']);

/** Each field asked for, with the manifest's decision for it; anything the manifest does not state plainly stays unknown. */
function fieldUses(fields: readonly string[], decisions: unknown): ExtractFieldUse[] {
  const byField = new Map<string, ExtractFieldUse['decision']>();
  if (Array.isArray(decisions)) {
    for (const d of decisions) {
      if (d && typeof d === 'object' && typeof d.field === 'string' && DECISIONS.has(d.decision)) byField.set(d.field, d.decision);
    }
  }
  return fields.map((field) => ({ field, decision: byField.get(field) ?? null }));
}

interface ActivityRow {
  kind: ActivityKind;
  id: string;
  clientId: string | null;
  clientName: string | null;
  purposeKey: string;
  operation: string | null;
  returned: string[];
  masked: string[];
  decisions: unknown;
  occurredAt: string;
}

/** A subject's reads and the complete extracts that hold them, newest first. */
export async function subjectActivityPage(
  db: Database,
  customerId: string,
  options: { first?: number | null; after?: string | null } = {},
): Promise<Page<SubjectActivity>> {
  const size = pageSize(options.first);
  const after = decodeActivityCursor(options.after);
  // At the cursor's instant, reads come before extracts: a read cursor leaves every extract of that instant to come.
  const bound = (kind: ActivityKind) => (after?.kind === kind ? after.id : kind === 'read' ? BEFORE_ALL : AFTER_ALL);
  const { rows } = await db.pool.query<ActivityRow>(ACTIVITY_PAGE, [
    customerId,
    after?.at ?? null,
    after ? bound('read') : null,
    after ? bound('extract') : null,
    size + 1,
  ]);
  const entries = rows.map((r): SubjectActivity => {
    const common = { clientId: r.clientId, clientName: r.clientName, purposeKey: r.purposeKey, occurredAt: utc(r.occurredAt) };
    return r.kind === 'read'
      ? { kind: 'read', ...common, recordId: String(r.id), customerId, operation: r.operation, returned: r.returned, masked: r.masked }
      : { kind: 'extract', ...common, extractId: String(r.id), fields: fieldUses(r.returned, r.decisions) };
  });
  const hasMore = entries.length > size;
  const shown = hasMore ? entries.slice(0, size) : entries;
  const last = shown.at(-1);
  return { entries: shown, hasMore, endCursor: hasMore && last ? activityCursor(last) : null };
}
