import type { PrismaClient, ConsentEvent } from '../generated/prisma/client.ts';
import { permits, type Decision } from '../policy/decide.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import { PURPOSES, takesConsent } from '../policy/taxonomy.ts';
import type { DeploymentMode, Regime } from '../policy/types.ts';
import type { SubjectRecord } from './subjects.ts';

/** Every event of a subject, oldest first: proof of what was chosen, when, where and under which notice. */
export function consentHistory(prisma: PrismaClient, subjectId: string, purposeKey?: string | null): Promise<ConsentEvent[]> {
  return prisma.consentEvent.findMany({
    where: { customerId: subjectId, ...(purposeKey ? { purposeKey } : {}) },
    orderBy: [{ recordedAt: 'asc' }, { id: 'asc' }],
  });
}

export interface PurposeStatus {
  customerId: string;
  purposeKey: string;
  regime: Regime;
  decision: Decision;
}

/** What the engine decides today for each purpose that takes consent: what the consent center shows. */
export async function consentStatus(
  prisma: PrismaClient,
  subject: SubjectRecord,
  mode: DeploymentMode,
  now: Date,
): Promise<PurposeStatus[]> {
  const states = await prisma.consentState.findMany({
    where: { customerId: subject.id },
    select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true },
  });
  const regime = regimeOf(subject.country, subject.region, mode);
  const minor = isMinor(subject.birthDate, now);
  return PURPOSES.filter((p) => takesConsent(p)).map((purpose) => ({
    customerId: subject.id,
    purposeKey: purpose.key,
    regime,
    decision: permits(purpose, { regime, minor, consents: states }, false, now),
  }));
}
