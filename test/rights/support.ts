import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/database.ts';
import type { TestApp } from '../support/app.ts';
import { createSubject, GRANT, WITHDRAW } from '../consent/support.ts';

// A subject with one (or more) of every kind of record we hold, made through
// the API where the API makes it (consent, access records) and directly
// where another part of the product writes it (extract lineage, per-subject
// access rows).

export interface FullSubject {
  id: string;
  externalId: string;
  email: string;
  orderNumber: string;
  ticketSubject: string;
  messageBody: string;
  campaign: string;
  path: string;
  extractIds: { marketing: string; aiTraining: string };
  accessRecordId: string;
}

/** Every table that names a subject by its customer id, with the column that does. */
export const SUBJECT_TABLES = [
  ['customer', 'id'],
  ['"order"', 'customer_id'],
  ['order_item', 'customer_id'],
  ['support_ticket', 'customer_id'],
  ['ticket_message', 'customer_id'],
  ['marketing_interaction', 'customer_id'],
  ['web_event', 'customer_id'],
  ['consent_event', 'customer_id'],
  ['consent_state', 'customer_id'],
  ['access_subject', 'customer_id'],
  ['extract_member', 'customer_id'],
  ['outbox_event', 'customer_id'],
] as const;

/** Rows naming the subject, per table (and the idempotency keys of its events, outbox payloads naming it). */
export async function rowsNaming(db: Database, customerId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  // One at a time: PGlite's socket server interleaves badly under parallel queries.
  for (const [table, column] of SUBJECT_TABLES) {
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1::uuid`, [customerId]);
    counts[table] = rows[0].n;
  }
  const keys = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM consent_idempotency i JOIN consent_event e ON e.id = i.event_id WHERE e.customer_id = $1::uuid`,
    [customerId],
  );
  counts.consent_idempotency = keys.rows[0].n;
  const payloads = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_event WHERE payload::text LIKE $1`, [
    `%${customerId}%`,
  ]);
  counts.outbox_payloads = payloads.rows[0].n;
  return counts;
}

/**
 * Waits until the server's access log has written the reads of the subject so
 * far (it writes in batches, every 200 ms): a record still in memory when the
 * subject is erased would be written after the erasure (see the report on
 * src/audit/access-log.ts), which these tests do not exercise.
 */
export async function accessLogSettled(db: Database, customerId: string): Promise<void> {
  const count = async () =>
    (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM access_subject WHERE customer_id = $1::uuid`, [customerId])).rows[0]
      .n;
  let last = await count();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 400));
    const now = await count();
    if (now === last) return;
    last = now;
  }
}

export async function createExtract(db: Database, purposeKey: string, members: readonly string[]): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO extract (purpose_key, purpose_version, policy_version, snapshot_at, format, fields, status, manifest, completed_at)
     VALUES ($1, 1, 'test', now(), 'ndjson', ARRAY['Customer.email'], 'COMPLETE', '{"rows": 1}', now()) RETURNING id::text AS id`,
    [purposeKey],
  );
  const id = rows[0].id;
  for (const member of members) {
    await db.pool.query('INSERT INTO extract_member (customer_id, extract_id) VALUES ($1::uuid, $2::bigint)', [member, id]);
  }
  return id;
}

/** A German customer with orders, tickets, marketing and web activity, consent history, access records and extracts. */
export async function createFullSubject(app: TestApp): Promise<FullSubject> {
  const db = app.db;
  const subject = await createSubject(db, { country: 'DE' }, 'Erika');
  const tag = randomUUID().slice(0, 8);
  const orderNumber = `ORD-${tag}`;
  const ticketSubject = `Parcel ${tag} arrived damaged`;
  const messageBody = `My parcel ${tag} was crushed.`;
  const campaign = `spring-${tag}`;
  const path = `/products/${tag}`;
  await db.prisma.customer.update({
    where: { id: subject.id },
    data: {
      phone: '+49 30 1234567',
      lastName: `Mustermann-${tag}`,
      city: 'Berlin',
      postalCode: '10115',
      street: 'Unter den Linden 1',
      birthDate: new Date('1980-04-02'),
      healthInterests: ['allergy'],
      orders: {
        create: {
          number: orderNumber,
          status: 'delivered',
          total: '59.90',
          placedAt: new Date('2026-10-01T10:00:00Z'),
        },
      },
      tickets: {
        create: { subject: ticketSubject, status: 'open', channel: 'email', openedAt: new Date('2026-10-03T09:00:00Z') },
      },
      interactions: { create: { campaign, kind: 'opened', occurredAt: new Date('2026-10-05T08:00:00Z') } },
      webEvents: { create: { kind: 'page_view', path, device: 'mobile', occurredAt: new Date('2026-10-06T07:00:00Z') } },
    },
  });
  const order = await db.prisma.order.findFirstOrThrow({ where: { customerId: subject.id } });
  await db.prisma.orderItem.create({
    data: { orderId: order.id, customerId: subject.id, sku: `SKU-${tag}`, name: 'Kettle', quantity: 1, unitPrice: '59.90' },
  });
  const ticket = await db.prisma.supportTicket.findFirstOrThrow({ where: { customerId: subject.id } });
  await db.prisma.ticketMessage.create({
    data: { ticketId: ticket.id, customerId: subject.id, author: 'customer', body: messageBody, sentAt: new Date('2026-10-03T09:01:00Z') },
  });

  // Consent through the API: a keyed grant (an idempotency row), then a withdrawal.
  const as = { client: 'consent-center', purpose: 'consent_management' };
  const grant = await app.graphql(GRANT, {
    ...as,
    variables: {
      input: {
        subject: { id: subject.id },
        purposes: ['marketing', 'ai_training'],
        source: 'CONSENT_CENTER',
        noticeVersion: 'v7',
        idempotencyKey: `grant-${tag}`,
      },
    },
  });
  if (grant.body.errors) throw new Error(JSON.stringify(grant.body.errors));
  const withdraw = await app.graphql(WITHDRAW, {
    ...as,
    variables: { input: { subject: { id: subject.id }, purposes: ['ai_training'], source: 'EMAIL_LINK' } },
  });
  if (withdraw.body.errors) throw new Error(JSON.stringify(withdraw.body.errors));

  // An access record naming the subject (and another subject), as the access log writes it, with its per-subject row.
  const record = await db.pool.query<{ id: string }>(
    `INSERT INTO access_record (client_id, purpose_key, operation, subjects, fields_masked, rows_excluded, fields_returned)
     SELECT id, 'support', 'SupportView', 2, 3, NULL, ARRAY['Customer.email'] FROM api_client WHERE name = 'support-chatbot'
     RETURNING id::text AS id`,
  );
  const accessRecordId = record.rows[0].id;
  await db.pool.query(
    `INSERT INTO access_subject (record_id, customer_id, returned, masked, occurred_at)
     VALUES ($1::bigint, $2::uuid, ARRAY['Customer.email'], ARRAY['Customer.birthDate'], now())`,
    [accessRecordId, subject.id],
  );

  const extractIds = {
    marketing: await createExtract(db, 'marketing', [subject.id]),
    aiTraining: await createExtract(db, 'ai_training', [subject.id]),
  };
  await accessLogSettled(db, subject.id);
  return {
    id: subject.id,
    externalId: subject.externalId,
    email: subject.email,
    orderNumber,
    ticketSubject,
    messageBody,
    campaign,
    path,
    extractIds,
    accessRecordId,
  };
}

export const EXPORT = `query($subject: SubjectInput!, $max: Int) {
  subjectExport(subject: $subject, maxRowsPerSection: $max) { subjectId format version generatedAt truncated document }
}`;

export const ERASE = `mutation($subject: SubjectInput!) {
  eraseSubject(subject: $subject) { id subjectHash status source requestedAt completedAt alreadyErased notices }
}`;

/** Puts `other` in `subject`'s marketing extract and access record, as if one read and one extract had named both. */
export async function shareRecords(db: Database, subject: FullSubject, other: FullSubject): Promise<void> {
  await db.pool.query('INSERT INTO extract_member (customer_id, extract_id) VALUES ($1::uuid, $2::bigint)', [
    other.id,
    subject.extractIds.marketing,
  ]);
  await db.pool.query(
    `INSERT INTO access_subject (record_id, customer_id, returned, masked, occurred_at)
     SELECT record_id, $1::uuid, returned, masked, occurred_at FROM access_subject WHERE record_id = $2::bigint`,
    [other.id, subject.accessRecordId],
  );
}
