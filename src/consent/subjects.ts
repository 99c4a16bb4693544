import type { PrismaClient } from '../generated/prisma/client.ts';
import { ConsentQLError } from '../errors.ts';
import type { SubjectRef } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SubjectRecord {
  id: string;
  externalId: string;
  country: string | null;
  region: string | null;
  birthDate: Date | null;
}

/**
 * A subject reference checked for shape: exactly one of a customer UUID (`id`, lower
 * case) or a CRM id (`externalId`), trimmed; else a coded error saying what to send.
 */
export function parseSubjectRef(ref: SubjectRef): { id: string; externalId: null } | { id: null; externalId: string } {
  const id = ref.id?.trim() || null;
  const externalId = ref.externalId?.trim() || null;
  if ((id === null) === (externalId === null)) {
    throw new ConsentQLError(
      'BAD_USER_INPUT',
      `subject expects exactly one of "id" (a customer UUID) or "externalId" (the CRM id), but got ${JSON.stringify(ref)}.`,
      { argument: 'subject' },
    );
  }
  if (id === null) return { id: null, externalId: externalId! };
  if (!UUID.test(id)) {
    throw new ConsentQLError('BAD_USER_INPUT', `subject.id expects a customer UUID, but got ${JSON.stringify(id)}.`, {
      argument: 'subject.id',
    });
  }
  return { id: id.toLowerCase(), externalId: null };
}

/** Resolves `{ id }` or `{ externalId }` to a customer, or a coded error saying what to send. */
export async function findSubject(prisma: PrismaClient, ref: SubjectRef): Promise<SubjectRecord> {
  const { id, externalId } = parseSubjectRef(ref);
  const select = { id: true, externalId: true, country: true, region: true, birthDate: true } as const;
  const row =
    id !== null
      ? await prisma.customer.findUnique({ where: { id }, select })
      : await prisma.customer.findUnique({ where: { externalId: externalId! }, select });
  if (!row) {
    const given = id !== null ? `id ${id}` : `externalId ${JSON.stringify(externalId)}`;
    throw new ConsentQLError(
      'NOT_FOUND',
      `No customer with ${given}. Check the identifier; consent can only be recorded for a known subject (an erased one is not).`,
      { argument: id !== null ? 'subject.id' : 'subject.externalId', received: id ?? externalId },
    );
  }
  return row;
}
