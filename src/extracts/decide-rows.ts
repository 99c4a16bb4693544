import type { Masker, MaskSpec } from '../masking/index.ts';
import { decideClass, fieldClass, permits, type Decision, type FieldClass, type MaskReason } from '../policy/decide.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import type { ConsentAction, ConsentRecord, DeploymentMode, PurposeDefinition, Regime, Subject } from '../policy/types.ts';
import type { ExtractField } from './fields.ts';

// Each row the SQL filter lets through is decided again by the policy engine
// (fail closed: should the two forms ever disagree, the row is withheld), and
// each field is returned or masked exactly as the consent plugin would: a
// field that does not serve the purpose by its mask, a special-category field
// by the subject's sensitive-data consent. Decisions depend only on what the
// policy reads of a subject, so they are cached by it: most rows share one.

/**
 * A row as the rows statement (src/extracts/sql.ts) returns it, as an array
 * (pg's rowMode 'array': no object per row): the customer's id, country,
 * region, birth date and consent states, then each field's value.
 */
export type SourceRow = unknown[];
const ID = 0;
const COUNTRY = 1;
const REGION = 2;
const BIRTH = 3;
const STATES = 4;
/** Where the fields' values start. */
export const FIELDS_AT = 5;

/** A subject's decision for each class of field, as the API decides it (decideClass). */
type SubjectDecisions = Record<FieldClass, Decision>;

const CACHE_LIMIT = 10_000;

/** Parses the consent states of one customer for the purpose (see statesOf in sql.ts). */
export function parseStates(purposeKey: string, states: string | null): ConsentRecord[] {
  if (!states) return [];
  return states.split(';').map((entry) => {
    const [regime, sensitive, action, version, expires] = entry.split(',');
    return {
      purposeKey,
      regime: regime as Regime,
      sensitive: sensitive === '1',
      action: action as ConsentAction,
      purposeVersion: Number(version),
      expiresAt: expires ? new Date(Number(expires)) : null,
    };
  });
}

export class RowDecider {
  private readonly cache = new Map<string, SubjectDecisions>();
  /** The day sixteen years before now, as YYYY-MM-DD: a birth date after it is a minor's. */
  private readonly minorAfter: string;
  private readonly classes: FieldClass[];
  private readonly masks: MaskSpec[];
  /** Per field: how many rows had it masked. */
  readonly maskedRows: number[];
  /** Subjects the SQL filter let through but the policy did not (should be none), by reason. */
  readonly withheld = new Map<string, number>();
  /** Their customer ids, to take them out of the lineage. */
  readonly withheldIds: string[] = [];
  /** Subjects written (with a record type, a subject has a row per record). */
  subjects = 0;
  private lastId: string | null = null;
  /** The pseudonym of lastId: records of one customer follow one another, one HMAC serves them all. */
  private lastPseudonym = '';

  private readonly purpose: PurposeDefinition;
  private readonly mode: DeploymentMode;
  private readonly now: Date;
  private readonly masker: Masker;

  constructor(purpose: PurposeDefinition, mode: DeploymentMode, now: Date, fields: readonly ExtractField[], masker: Masker) {
    this.purpose = purpose;
    this.mode = mode;
    this.now = now;
    this.masker = masker;
    const day = now.toISOString().slice(0, 10);
    this.minorAfter = `${String(now.getUTCFullYear() - 16).padStart(4, '0')}${day.slice(4)}`;
    this.classes = fields.map((f) => fieldClass(purpose, f.tag));
    this.masks = fields.map((f) => f.tag.mask);
    this.maskedRows = fields.map(() => 0);
  }

  /** Whether the rows statement needs to read each field (a field masked to null always is not read). */
  static reads(purpose: PurposeDefinition, fields: readonly ExtractField[]): boolean[] {
    return fields.map((f) => fieldClass(purpose, f.tag) !== 'not-served' || f.tag.mask.strategy !== 'null');
  }

  /** The output row (the subject's pseudonym, then each field), or null when the policy withholds it. */
  decide(row: SourceRow): unknown[] | null {
    const id = row[ID] as string;
    // Rows come by customer: a customer's records follow one another.
    const first = id !== this.lastId;
    this.lastId = id;
    const decisions = this.decisionsFor(row);
    if (decisions.ordinary.effect !== 'allow') {
      if (first) {
        const reason = decisions.ordinary.reason as MaskReason;
        this.withheld.set(reason, (this.withheld.get(reason) ?? 0) + 1);
        this.withheldIds.push(id);
      }
      return null;
    }
    const key = this.purpose.key;
    if (first) {
      this.subjects += 1;
      this.lastPseudonym = this.masker.pseudonym(id, key);
    }
    const out = new Array<unknown>(this.classes.length + 1);
    out[0] = this.lastPseudonym;
    for (let i = 0; i < this.classes.length; i++) {
      const value = row[FIELDS_AT + i];
      if (decisions[this.classes[i]].effect === 'allow') {
        out[i + 1] = value;
        continue;
      }
      this.maskedRows[i] += 1;
      const mask = this.masks[i];
      out[i + 1] = mask.strategy === 'null' ? null : this.masker.apply(mask, value, key);
    }
    return out;
  }

  /**
   * isMinor of a birth date (YYYY-MM-DD): under 16 exactly when the date is
   * after the same day sixteen years before now, compared as text; a 29
   * February or an unusual year is left to isMinor itself.
   */
  private minorOf(birth: string | null): boolean {
    if (birth === null) return false;
    if (birth.length !== 10 || birth.endsWith('-02-29')) return isMinor(new Date(`${birth}T00:00:00.000Z`), this.now);
    return birth > this.minorAfter;
  }

  private decisionsFor(row: SourceRow): SubjectDecisions {
    const country = row[COUNTRY] as string | null;
    const region = row[REGION] as string | null;
    const states = row[STATES] as string | null;
    const minor = this.minorOf(row[BIRTH] as string | null);
    const cacheKey = `${country}\u0000${region}\u0000${minor}\u0000${states}`;
    let found = this.cache.get(cacheKey);
    if (!found) {
      const subject: Subject = {
        regime: regimeOf(country, region, this.mode),
        minor,
        consents: parseStates(this.purpose.key, states),
      };
      found = {
        ordinary: decideClass(this.purpose, 'ordinary', subject, this.now),
        sensitive: decideClass(this.purpose, 'sensitive', subject, this.now),
        'not-served': decideClass(this.purpose, 'not-served', subject, this.now),
      };
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(cacheKey, found);
    }
    return found;
  }
}

/** The reason the policy gives for leaving out a group of customers (the exclusions statement's rows). */
export function exclusionReason(
  purpose: PurposeDefinition,
  group: { country: string | null; region: string | null; minor: boolean; states: string | null },
  mode: DeploymentMode,
  now: Date,
): string {
  const subject: Subject = {
    regime: regimeOf(group.country, group.region, mode),
    minor: group.minor,
    consents: parseStates(purpose.key, group.states),
  };
  const decision = permits(purpose, subject, false, now);
  // The SQL filter left these out but the policy would not have: stricter in SQL, so still out (fail closed), and reported.
  return decision.effect === 'allow' ? 'FILTERED_IN_SQL' : decision.reason;
}
