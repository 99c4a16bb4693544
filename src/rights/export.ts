import type { Database } from '../db/database.ts';
import { ConsentQLError } from '../errors.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { consentStatus } from '../consent/history.ts';
import type { DeploymentMode } from '../policy/types.ts';

// The data-subject access export (GDPR Art. 15 and 20): everything held on one
// subject, as one JSON document a machine can read. Each part is read in one
// repeatable-read transaction, so the parts agree with each other. Every list
// is capped (newest first where a list only grows: access records); a capped
// list is named in `truncated`, so a partial export never passes for a whole one.
//
// Nothing of other subjects is in it: an access record is shown by its client,
// purpose, operation and time, and with what it returned and masked of this
// subject only (access_subject), never with its list of subjects or counts.

export const SUBJECT_EXPORT_FORMAT = 'consentql.subject-export';
export const SUBJECT_EXPORT_VERSION = 1;
/** Rows per list unless asked for fewer: a subject with more is told so in `truncated`. */
export const DEFAULT_ROWS_PER_SECTION = 10_000;

export interface ExportOptions {
  /** The deployment mode: the current decision per purpose depends on it. */
  mode: DeploymentMode;
  /** At most this many rows per list (1–10,000; default 10,000). */
  maxRowsPerSection?: number;
  now?: Date;
}

type Row = Record<string, unknown>;

/** Version 1 of the export. Dates are ISO-8601 UTC strings; ids of ledger rows and amounts are strings. */
export interface SubjectExport {
  format: typeof SUBJECT_EXPORT_FORMAT;
  version: typeof SUBJECT_EXPORT_VERSION;
  generatedAt: string;
  subject: { id: string; externalId: string };
  limits: { rowsPerSection: number };
  /** The lists that hold more rows than `limits.rowsPerSection` (only the first, or newest, are in the export). */
  truncated: string[];
  personalData: {
    customer: Row;
    orders: Row[];
    orderItems: Row[];
    supportTickets: Row[];
    ticketMessages: Row[];
    marketingInteractions: Row[];
    webEvents: Row[];
  };
  consent: {
    /** The ledger: every choice, oldest first, with its proof. */
    events: Row[];
    /** The current state per purpose, regime and scope, as stored. */
    states: Row[];
    /** What the policy engine decides today, per purpose that takes consent. */
    decisions: { purpose: string; regime: string; permitted: boolean; reason: string }[];
  };
  access: {
    /** Reads of the subject's data, newest first: who (client), for which purpose, which operation, when. */
    records: Row[];
    /** Per read, the fields returned in clear and masked for this subject, newest first. */
    fields: Row[];
  };
  /** The bulk extracts the subject went into. */
  extracts: Row[];
  /** A pending erasure of the subject, if one was requested and has not completed yet. */
  erasure: Row | null;
}

/**
 * The export of the customer `customerId`. NOT_FOUND when there is no such
 * customer (an erased one included; the caller may look for its erasure proof).
 */
export async function exportSubject(db: Database, customerId: string, options: ExportOptions): Promise<SubjectExport> {
  const cap = options.maxRowsPerSection ?? DEFAULT_ROWS_PER_SECTION;
  if (!Number.isInteger(cap) || cap < 1 || cap > DEFAULT_ROWS_PER_SECTION) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `maxRowsPerSection expects a number from 1 to ${DEFAULT_ROWS_PER_SECTION}, but got ${cap}.`,
      { argument: 'maxRowsPerSection' },
    );
  }
  const now = options.now ?? new Date();
  return db.prisma.$transaction(
    async (tx) => {
      const customer = await tx.customer.findUnique({ where: { id: customerId } });
      if (!customer) {
        throw new ConsentQLError('NOT_FOUND', `No customer with id ${customerId}. Check the identifier.`, {
          argument: 'subject',
          received: customerId,
        });
      }
      const truncated: string[] = [];
      const capped = <T>(name: string, rows: T[]): T[] => {
        if (rows.length <= cap) return rows;
        truncated.push(name);
        return rows.slice(0, cap);
      };
      const where = { customerId };
      const take = cap + 1;
      const orders = capped('orders', await tx.order.findMany({ where, orderBy: [{ placedAt: 'asc' }, { id: 'asc' }], take }));
      const orderItems = capped('orderItems', await tx.orderItem.findMany({ where, orderBy: [{ orderId: 'asc' }, { id: 'asc' }], take }));
      const supportTickets = capped(
        'supportTickets',
        await tx.supportTicket.findMany({ where, orderBy: [{ openedAt: 'asc' }, { id: 'asc' }], take }),
      );
      const ticketMessages = capped(
        'ticketMessages',
        await tx.ticketMessage.findMany({ where, orderBy: [{ sentAt: 'asc' }, { id: 'asc' }], take }),
      );
      const marketingInteractions = capped(
        'marketingInteractions',
        await tx.marketingInteraction.findMany({ where, orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }], take }),
      );
      const webEvents = capped('webEvents', await tx.webEvent.findMany({ where, orderBy: [{ occurredAt: 'asc' }, { id: 'asc' }], take }));
      const events = capped('consent.events', await tx.consentEvent.findMany({ where, orderBy: { id: 'asc' }, take }));
      const states = await tx.consentState.findMany({ where, orderBy: [{ purposeKey: 'asc' }, { regime: 'asc' }, { sensitive: 'asc' }] });
      const decisions = await consentStatus(tx as unknown as Parameters<typeof consentStatus>[0], customer, options.mode, now);
      const records = capped('access.records', await accessRecords(tx, customerId, take));
      const fields = capped(
        'access.fields',
        await tx.$queryRawUnsafe<Row[]>(
          `SELECT record_id::text AS "recordId", returned, masked, (occurred_at AT TIME ZONE 'UTC') AS "occurredAt"
             FROM access_subject WHERE customer_id = $1::uuid
            ORDER BY occurred_at DESC, record_id DESC LIMIT $2`,
          customerId,
          take,
        ),
      );
      const extracts = capped(
        'extracts',
        await tx.$queryRawUnsafe<Row[]>(
          `SELECT e.id::text AS id, e.purpose_key AS purpose, e.purpose_version AS "purposeVersion", e.policy_version AS "policyVersion",
                  e.status::text AS status, e.format, (e.snapshot_at AT TIME ZONE 'UTC') AS "snapshotAt",
                  (e.created_at AT TIME ZONE 'UTC') AS "createdAt", (e.completed_at AT TIME ZONE 'UTC') AS "completedAt"
             FROM extract_member m JOIN extract e ON e.id = m.extract_id
            WHERE m.customer_id = $1::uuid
            ORDER BY e.id LIMIT $2`,
          customerId,
          take,
        ),
      );
      const erasure = await tx.erasure.findFirst({
        where: { customerId },
        select: { status: true, source: true, requestedAt: true },
      });
      return plain({
        format: SUBJECT_EXPORT_FORMAT,
        version: SUBJECT_EXPORT_VERSION,
        generatedAt: now,
        subject: { id: customer.id, externalId: customer.externalId },
        limits: { rowsPerSection: cap },
        truncated,
        personalData: { customer, orders, orderItems, supportTickets, ticketMessages, marketingInteractions, webEvents },
        consent: {
          events,
          states,
          decisions: decisions.map((d) => ({
            purpose: d.purposeKey,
            regime: d.regime,
            permitted: d.decision.effect === 'allow',
            reason: d.decision.reason,
          })),
        },
        access: { records, fields },
        extracts,
        erasure,
      }) as SubjectExport;
    },
    { isolationLevel: 'RepeatableRead', timeout: 60_000, maxWait: 10_000 },
  );
}

/** The reads that named the subject, newest first: access_subject's primary key leads with the subject. */
function accessRecords(tx: Prisma.TransactionClient, customerId: string, take: number): Promise<Row[]> {
  return tx.$queryRawUnsafe<Row[]>(
    `SELECT a.id::text AS id, a.client_id::text AS "clientId", c.name AS "clientName", a.purpose_key AS purpose, a.operation,
            (a.occurred_at AT TIME ZONE 'UTC') AS "occurredAt"
       FROM access_subject s
       JOIN access_record a ON a.id = s.record_id
       LEFT JOIN api_client c ON c.id = a.client_id
      WHERE s.customer_id = $1::uuid
      ORDER BY s.occurred_at DESC, s.record_id DESC LIMIT $2`,
    customerId,
    take,
  );
}

/**
 * The export as a JSON download (the consent center's "download my data"):
 * never cached, never sniffed as anything but JSON.
 */
export function subjectExportResponse(document: SubjectExport): Response {
  return new Response(JSON.stringify(document), {
    status: 200,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="subject-export-${document.subject.id}.json"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}

/** JSON-safe values: dates as ISO strings, 64-bit ids and decimals as strings. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object') {
    // Prisma's Decimal (and anything else with its own JSON form).
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return plain(toJSON.call(value));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
