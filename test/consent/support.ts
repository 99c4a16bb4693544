import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/database.ts';

// Tests that write consent use customers of their own, so that the shared
// database keeps the seeded personas (which test/api relies on) untouched.

export async function createSubject(db: Database, place: { country: string | null; region?: string | null }, firstName = 'Testa') {
  const tag = randomUUID();
  return db.prisma.customer.create({
    data: {
      externalId: `TEST-${tag}`,
      email: `${tag}@consentql.test`,
      firstName,
      lastName: 'Subject',
      country: place.country,
      region: place.region ?? null,
    },
    select: { id: true, externalId: true, email: true, country: true, region: true },
  });
}

/** Ledger rows of one subject: nothing may change when a request is refused. */
export async function ledgerRows(db: Database, customerId: string) {
  // One at a time: the embedded database's socket server interleaves badly under parallel counts.
  const events = await db.prisma.consentEvent.count({ where: { customerId } });
  const states = await db.prisma.consentState.count({ where: { customerId } });
  const outbox = await db.prisma.outboxEvent.count({ where: { customerId } });
  return { events, states, outbox };
}

export const CHOICE = `
  fragment Recorded on RecordedConsent {
    replayed
    gpc { honoured reason eventId }
    events { id customerId purpose purposeVersion action source noticeVersion regime sensitive expiresAt recordedAt ipHash userAgent }
  }`;

export const GRANT = `mutation($input: ConsentChoiceInput!) { grantConsent(input: $input) { ...Recorded } } ${CHOICE}`;
export const WITHDRAW = `mutation($input: ConsentChoiceInput!) { withdrawConsent(input: $input) { ...Recorded } } ${CHOICE}`;
export const OPT_OUT = `mutation($input: ConsentChoiceInput!) { optOut(input: $input) { ...Recorded } } ${CHOICE}`;
export const OPT_IN = `mutation($input: ConsentChoiceInput!) { optIn(input: $input) { ...Recorded } } ${CHOICE}`;
