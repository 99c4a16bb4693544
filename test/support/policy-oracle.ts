import type { Basis, ConsentRecord, PurposeDefinition, Subject } from '../../src/policy/types.ts';

// An oracle for the policy, written from the rules as stated (docs and the
// change that introduced the three effects), not from src/policy/decide.ts:
// it calls nothing of decide.ts (no decide, permits, basisFor), only reads
// the vocabulary types. The property tests compare the engine, and the
// plugin, against it.
//
// 1. The subject first. Without a legal basis for the purpose's use of the
//    subject's ordinary data, the subject is excluded: every field of theirs,
//    whatever its tag, served or not, sensitive or not.
// 2. Otherwise a field that does not serve the purpose is masked.
// 3. Otherwise a sensitive field also needs the sensitive basis of the regime;
//    without it, it is masked.
// 4. Otherwise the value is allowed.
//
// Where several records of one scope fail for different reasons (the ledger
// should never hold more than one per scope) the rules do not say which one
// names the decision, so the oracle lists every reason that applies and the
// tests accept any of them. The effect is never ambiguous.

export type OracleEffect = 'allow' | 'mask' | 'exclude';

export interface OracleDecision {
  effect: OracleEffect;
  /** Every reason the rules would accept for this decision; one in all but multi-record cases. */
  reasons: readonly string[];
}

export interface OracleField {
  serves: readonly string[];
  category: string;
}

const isGrant = (r: ConsentRecord) => r.action === 'GRANT' || r.action === 'OPT_IN';

/** A record counts for a scope only if it was captured under the subject's regime, for this purpose and scope. */
function scope(purpose: PurposeDefinition, subject: Subject, sensitive: boolean): ConsentRecord[] {
  return subject.consents.filter((r) => r.regime === subject.regime && r.purposeKey === purpose.key && r.sensitive === sensitive);
}

function expired(r: ConsentRecord, now: Date): boolean {
  if (r.expiresAt === null || r.expiresAt === undefined) return false;
  // A record read back from JSON carries a string; an unreadable expiry is no expiry in the future.
  const at = new Date(r.expiresAt as Date | string).getTime();
  return !(at > now.getTime());
}

/** Why a record is not a valid grant for the purpose now: every reason that applies, none if it is one. */
function grantFailures(purpose: PurposeDefinition, r: ConsentRecord, now: Date): string[] {
  if (r.action === 'OPT_OUT') return ['OPTED_OUT'];
  if (!isGrant(r)) return ['WITHDRAWN']; // a withdrawal, or an action we do not know
  const failures: string[] = [];
  if (r.purposeVersion !== purpose.version) failures.push('CONSENT_OUTDATED');
  if (expired(r, now)) failures.push('EXPIRED');
  return failures;
}

/** Opt-in: at least one record, and every record in scope a current, unexpired grant. */
function optInFailures(purpose: PurposeDefinition, records: ConsentRecord[], now: Date, missing: string): string[] {
  if (records.length === 0) return [missing];
  return [...new Set(records.flatMap((r) => grantFailures(purpose, r, now)))];
}

/** Opt-out: any record in scope that is not a grant stops the use. */
function optOutFailures(records: ConsentRecord[]): string[] {
  return [...new Set(records.filter((r) => !isGrant(r)).map((r) => (r.action === 'OPT_OUT' ? 'OPTED_OUT' : 'WITHDRAWN')))];
}

/** The allow reason names the strictest basis that had to be satisfied. */
function allowReason(bases: readonly Basis[]): string {
  if (bases.includes('OPT_IN')) return 'CONSENT';
  if (bases.includes('OPT_OUT')) return 'NOT_OPTED_OUT';
  return 'CONTRACT';
}

export function oracleDecision(purpose: PurposeDefinition, field: OracleField, subject: Subject | undefined, now: Date): OracleDecision {
  // Consent could not be loaded: we do not even know the regime. Fail closed.
  if (subject === undefined) return { effect: 'exclude', reasons: ['CONSENT_UNAVAILABLE'] };

  // 1. Ordinary data: the regime's basis, an opt-in for a minor where the purpose asks for it.
  const regular: Basis | undefined = purpose.basis[subject.regime];
  const minorUpgrade = subject.minor && regular === 'OPT_OUT' && (purpose.minorsOptIn ?? []).includes(subject.regime);
  const ordinaryBasis: Basis = minorUpgrade ? 'OPT_IN' : (regular ?? 'DENY');
  const ordinary = scope(purpose, subject, false);
  let failures: string[];
  switch (ordinaryBasis) {
    case 'CONTRACT':
      failures = [];
      break;
    case 'OPT_OUT':
      failures = optOutFailures(ordinary);
      break;
    case 'OPT_IN':
      failures = optInFailures(purpose, ordinary, now, minorUpgrade ? 'MINOR_REQUIRES_OPT_IN' : 'NO_CONSENT');
      break;
    default:
      failures = ['DENIED'];
  }
  if (failures.length > 0) return { effect: 'exclude', reasons: failures };

  // 2. The field must serve the purpose.
  if (!field.serves.includes(purpose.key)) return { effect: 'mask', reasons: ['PURPOSE_NOT_SERVED'] };

  // 3. Special-category data: the sensitive basis too, on the sensitive scope.
  if (field.category !== 'sensitive') return { effect: 'allow', reasons: [allowReason([ordinaryBasis])] };
  const sensitiveBasis: Basis = purpose.sensitiveBasis[subject.regime] ?? 'DENY';
  const sensitive = scope(purpose, subject, true);
  switch (sensitiveBasis) {
    case 'CONTRACT':
      break;
    case 'OPT_OUT':
      if (optOutFailures(sensitive).length > 0) return { effect: 'mask', reasons: ['SENSITIVE_LIMITED'] };
      break;
    case 'OPT_IN':
      if (optInFailures(purpose, sensitive, now, 'missing').length > 0) {
        return { effect: 'mask', reasons: ['SENSITIVE_REQUIRES_OPT_IN'] };
      }
      break;
    default:
      return { effect: 'mask', reasons: ['DENIED'] };
  }
  // 4.
  return { effect: 'allow', reasons: [allowReason([ordinaryBasis, sensitiveBasis])] };
}

/** The reasons of an allow decision. */
export const ALLOW_REASONS = ['CONTRACT', 'CONSENT', 'NOT_OPTED_OUT'] as const;

/**
 * The outcomes ("effect reason") the taxonomy can produce. DENIED is not
 * among them: no purpose of the taxonomy has a DENY basis (ordinary or
 * sensitive) under any regime, and subjects only have known regimes;
 * decide.test.ts covers it with synthetic purposes and an unknown regime.
 */
export const REACHABLE_OUTCOMES = [
  'allow CONTRACT',
  'allow CONSENT',
  'allow NOT_OPTED_OUT',
  'mask PURPOSE_NOT_SERVED',
  'mask SENSITIVE_REQUIRES_OPT_IN',
  'mask SENSITIVE_LIMITED',
  'exclude NO_CONSENT',
  'exclude WITHDRAWN',
  'exclude OPTED_OUT',
  'exclude EXPIRED',
  'exclude CONSENT_OUTDATED',
  'exclude MINOR_REQUIRES_OPT_IN',
  'exclude CONSENT_UNAVAILABLE',
] as const;
