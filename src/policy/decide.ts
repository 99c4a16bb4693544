import type { Basis, ConsentRecord, DataCategory, PurposeDefinition, Regime, Subject } from './types.ts';

// The decision for one field of one subject under one purpose. Pure and
// synchronous: the caller loads consent and passes it in, so the same rules
// serve the field masks, the row filter and the tests.

/** Reported to clients with every decision summary; bump when a rule below changes. */
export const POLICY_VERSION = '2026-11-30.1';

/**
 * - allow: the value is returned in clear.
 * - mask: the subject permits the purpose, but this field does not serve it
 *   (or a sensitive-data limit applies): its mask minimises it.
 * - exclude: the subject gives the purpose no legal basis. The subject is not
 *   processed for it at all: no row, no id, no token, no partial value.
 */
export type Effect = 'allow' | 'mask' | 'exclude';

export type AllowReason = 'CONTRACT' | 'CONSENT' | 'NOT_OPTED_OUT' | 'NOTICE';

export type MaskReason =
  | 'PURPOSE_NOT_SERVED'
  | 'NO_CONSENT'
  | 'WITHDRAWN'
  | 'OPTED_OUT'
  | 'EXPIRED'
  | 'CONSENT_OUTDATED'
  | 'SENSITIVE_REQUIRES_OPT_IN'
  | 'SENSITIVE_LIMITED'
  | 'MINOR_REQUIRES_OPT_IN'
  | 'DENIED'
  | 'CONSENT_UNAVAILABLE';

export interface Decision {
  effect: Effect;
  reason: AllowReason | MaskReason;
}

/**
 * What a field's decision depends on besides the subject: whether the field
 * serves the purpose and whether it is special-category data. Callers cache
 * decisions per subject and class, so the cache key is what the policy reads.
 */
export type FieldClass = 'not-served' | 'ordinary' | 'sensitive';

export const FIELD_CLASSES: readonly FieldClass[] = ['not-served', 'ordinary', 'sensitive'];

/** The policy tag of a field: the purposes it serves and its data category. */
export interface FieldTag {
  serves: readonly string[];
  category: DataCategory;
}

// Decisions are shared frozen values: callers count and compare them, never mutate.
const allow = (reason: AllowReason): Decision => ALLOW[reason];
const mask = (reason: MaskReason): Decision => MASK[reason];
const exclude = (reason: MaskReason): Decision => EXCLUDE[reason];

const ALLOW: Record<AllowReason, Decision> = Object.freeze({
  CONTRACT: Object.freeze({ effect: 'allow', reason: 'CONTRACT' }),
  CONSENT: Object.freeze({ effect: 'allow', reason: 'CONSENT' }),
  NOT_OPTED_OUT: Object.freeze({ effect: 'allow', reason: 'NOT_OPTED_OUT' }),
  NOTICE: Object.freeze({ effect: 'allow', reason: 'NOTICE' }),
});

export const MASK_REASONS: readonly MaskReason[] = [
  'PURPOSE_NOT_SERVED',
  'NO_CONSENT',
  'WITHDRAWN',
  'OPTED_OUT',
  'EXPIRED',
  'CONSENT_OUTDATED',
  'SENSITIVE_REQUIRES_OPT_IN',
  'SENSITIVE_LIMITED',
  'MINOR_REQUIRES_OPT_IN',
  'DENIED',
  'CONSENT_UNAVAILABLE',
];

const frozenByReason = (effect: 'mask' | 'exclude') =>
  Object.freeze(Object.fromEntries(MASK_REASONS.map((reason) => [reason, Object.freeze({ effect, reason })]))) as Record<
    MaskReason,
    Decision
  >;
const MASK = frozenByReason('mask');
const EXCLUDE = frozenByReason('exclude');

/** The class of `field` under `purpose`: all that `decide` reads of a field. */
export function fieldClass(purpose: PurposeDefinition, field: FieldTag): FieldClass {
  if (!field.serves.includes(purpose.key)) return 'not-served';
  return field.category === 'sensitive' ? 'sensitive' : 'ordinary';
}

/**
 * Whether `purpose` may read `field` of `subject` at `now`. The subject comes
 * first: without a legal basis for the purpose the subject is excluded, and
 * no field of theirs is returned in any form. `subject` is undefined when
 * consent could not be loaded: that excludes (fail closed), even for contract
 * purposes, since without the subject we do not know the regime.
 */
export function decide(purpose: PurposeDefinition, field: FieldTag, subject: Subject | undefined, now: Date): Decision {
  return decideClass(purpose, fieldClass(purpose, field), subject, now);
}

export function decideClass(purpose: PurposeDefinition, cls: FieldClass, subject: Subject | undefined, now: Date): Decision {
  const basis = permits(purpose, subject, false, now);
  if (basis.effect !== 'allow') return basis;
  if (cls === 'not-served') return mask('PURPOSE_NOT_SERVED');
  return cls === 'sensitive' ? permits(purpose, subject, true, now) : basis;
}

/**
 * A field of a notice of a consent change (feed, subscription, suppression
 * list): no subject-level basis is needed, since the notice is how a consumer
 * learns to stop processing; the field must still serve the purpose. Notices
 * carry no special-category data (refused when the schema is built).
 */
export function decideNotice(purpose: PurposeDefinition, field: FieldTag): Decision {
  return fieldClass(purpose, field) === 'ordinary' ? allow('NOTICE') : mask('PURPOSE_NOT_SERVED');
}

/**
 * The subject-level part of `decide`, without the "field serves the purpose"
 * check: whether the subject's regime and consent let `purpose` use their
 * ordinary (or, with `sensitive`, their special-category) data at `now`.
 * Without a basis for ordinary data the subject is excluded; a missing basis
 * for special-category data only masks those fields.
 */
export function permits(purpose: PurposeDefinition, subject: Subject | undefined, sensitive: boolean, now: Date): Decision {
  if (subject === undefined) return exclude('CONSENT_UNAVAILABLE');
  const ordinary = checkOrdinary(purpose, subject, now);
  if (ordinary.effect !== 'allow') return exclude(ordinary.reason as MaskReason);
  return sensitive ? checkSensitive(purpose, subject, ordinary, now) : ordinary;
}

/**
 * The basis of one scope: for ordinary data the regime's basis, turned into
 * OPT_IN for a minor where the purpose asks for it (CCPA sale/sharing under
 * 16); for sensitive data the sensitive basis, which applies on top of the
 * ordinary one. An unknown regime gets DENY (fail closed).
 */
export function basisFor(purpose: PurposeDefinition, regime: Regime, minor: boolean, sensitive: boolean): Basis {
  if (sensitive) return purpose.sensitiveBasis[regime] ?? 'DENY';
  const basis = purpose.basis[regime] ?? 'DENY';
  return minorNeedsOptIn(purpose, regime, minor, basis) ? 'OPT_IN' : basis;
}

function minorNeedsOptIn(purpose: PurposeDefinition, regime: Regime, minor: boolean, basis: Basis): boolean {
  return minor && basis === 'OPT_OUT' && (purpose.minorsOptIn?.includes(regime) ?? false);
}

function checkOrdinary(purpose: PurposeDefinition, subject: Subject, now: Date): Decision {
  const regular = purpose.basis[subject.regime] ?? 'DENY';
  const records = recordsInScope(purpose, subject, false);
  switch (basisFor(purpose, subject.regime, subject.minor, false)) {
    case 'CONTRACT':
      return allow('CONTRACT');
    case 'OPT_OUT':
      return hasOptedOut(records) ?? allow('NOT_OPTED_OUT');
    case 'OPT_IN': {
      const minorUpgrade = minorNeedsOptIn(purpose, subject.regime, subject.minor, regular);
      return optIn(purpose, records, now, minorUpgrade ? 'MINOR_REQUIRES_OPT_IN' : 'NO_CONSENT');
    }
    default:
      return mask('DENIED');
  }
}

/**
 * Runs only after the ordinary check allowed. Every failure of a sensitive
 * opt-in (none, withdrawn, opted out, outdated, expired) is reported as
 * SENSITIVE_REQUIRES_OPT_IN, so the reason names the scope that is missing.
 */
function checkSensitive(purpose: PurposeDefinition, subject: Subject, ordinary: Decision, now: Date): Decision {
  const records = recordsInScope(purpose, subject, true);
  switch (basisFor(purpose, subject.regime, subject.minor, true)) {
    case 'CONTRACT':
      return ordinary;
    case 'OPT_OUT':
      return hasOptedOut(records) ? mask('SENSITIVE_LIMITED') : ordinary;
    case 'OPT_IN': {
      const decision = optIn(purpose, records, now, 'SENSITIVE_REQUIRES_OPT_IN');
      return decision.effect === 'allow' ? decision : mask('SENSITIVE_REQUIRES_OPT_IN');
    }
    default:
      return mask('DENIED');
  }
}

function recordsInScope(purpose: PurposeDefinition, subject: Subject, sensitive: boolean): ConsentRecord[] {
  // Records captured under another regime never count: a CCPA opt-out does
  // not touch a GDPR consent, nor a GDPR grant a subject now under CCPA.
  return subject.consents.filter((r) => r.regime === subject.regime && r.purposeKey === purpose.key && r.sensitive === sensitive);
}

/** An opt-out holds regardless of purpose version or expiry. */
function hasOptedOut(records: readonly ConsentRecord[]): Decision | undefined {
  // There should be one record per scope; if there are more, any negative wins.
  let found: Decision | undefined;
  for (const r of records) {
    if (r.action === 'OPT_OUT') return mask('OPTED_OUT');
    if (r.action !== 'GRANT' && r.action !== 'OPT_IN') found = mask('WITHDRAWN');
  }
  return found;
}

// Higher wins when several records disagree (which the ledger should never produce).
const NEGATIVE_RANK: Partial<Record<MaskReason, number>> = {
  WITHDRAWN: 4,
  OPTED_OUT: 3,
  CONSENT_OUTDATED: 2,
  EXPIRED: 1,
};

function optIn(purpose: PurposeDefinition, records: readonly ConsentRecord[], now: Date, missing: MaskReason): Decision {
  if (records.length === 0) return mask(missing);
  let worst: MaskReason | undefined;
  for (const r of records) {
    const reason = recordFailure(purpose, r, now);
    if (reason && (worst === undefined || NEGATIVE_RANK[reason]! > NEGATIVE_RANK[worst]!)) worst = reason;
  }
  return worst ? mask(worst) : allow('CONSENT');
}

function recordFailure(purpose: PurposeDefinition, r: ConsentRecord, now: Date): MaskReason | undefined {
  if (r.action === 'OPT_OUT') return 'OPTED_OUT';
  // WITHDRAW, and any action we do not know, is not a grant.
  if (r.action !== 'GRANT' && r.action !== 'OPT_IN') return 'WITHDRAWN';
  if (r.purposeVersion !== purpose.version) return 'CONSENT_OUTDATED';
  // `!(a > b)` rather than `a <= b`: an invalid date compares false and must count as expired.
  if (r.expiresAt != null && !(expiryTime(r.expiresAt) > now.getTime())) return 'EXPIRED';
  return undefined;
}

// A record read back from a JSON cache carries its expiry as a string.
function expiryTime(expiresAt: Date | string): number {
  return expiresAt instanceof Date ? expiresAt.getTime() : new Date(expiresAt).getTime();
}
