import { isMinor, regimeOf } from '../policy/regime.ts';
import type { ConsentRecord, DeploymentMode } from '../policy/types.ts';
import type { RequestConsent } from './consent-plugin/index.ts';

/** What a customer row must carry for its fields to be decided. */
export interface SubjectRow {
  id: string;
  country: string | null;
  region: string | null;
  birthDate: Date | null;
  consentStates: ConsentRecord[];
}

/** The consent states of the declared purpose, loaded in the same query as the rows. */
export function consentInclude(purposeKey: string) {
  return {
    consentStates: {
      where: { purposeKey },
      select: { purposeKey: true, regime: true, sensitive: true, action: true, purposeVersion: true, expiresAt: true },
    },
  } as const;
}

/**
 * Merges the consent include into the query Pothos planned for the selection
 * (which uses `include`, or `select` for types declared with one).
 */
export function withConsent<Q extends { include?: object; select?: object }>(query: Q, purposeKey: string): Q {
  const extra = consentInclude(purposeKey);
  if (query.select) {
    return { ...query, select: { ...query.select, id: true, country: true, region: true, birthDate: true, ...extra } };
  }
  return { ...query, include: { ...query.include, ...extra } };
}

/** Registers each loaded customer as a subject of the request, synchronously. */
export function registerSubjects(consent: RequestConsent, mode: DeploymentMode, rows: readonly SubjectRow[]): void {
  for (const row of rows) {
    // A row that came without its consent is left unregistered: its fields
    // then mask as CONSENT_UNAVAILABLE instead of being decided on nothing.
    if (!Array.isArray(row.consentStates)) continue;
    consent.addSubject(row.id, {
      regime: regimeOf(row.country, row.region, mode),
      minor: isMinor(row.birthDate, consent.now),
      consents: row.consentStates,
    });
  }
}
