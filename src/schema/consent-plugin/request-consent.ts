import type { GraphQLResolveInfo } from 'graphql';
import { responsePathAsArray } from 'graphql';
import { decideClass, decideNotice, fieldClass, POLICY_VERSION, type Decision, type FieldClass } from '../../policy/index.ts';
import type { PurposeDefinition, Subject } from '../../policy/types.ts';
import type { FieldTag } from './types.ts';

export interface MaskedPath {
  path: string;
  reason: Decision['reason'];
}

const SLOT: Record<FieldClass, 0 | 1 | 2> = { 'not-served': 0, ordinary: 1, sensitive: 2 };

// Tagged fields by number, assigned when a schema is built (the same
// coordinate always gets the same number): what a request did with a
// subject's fields is then a bitset, one OR per field on the hot path,
// turned back into names only when the access record is written.
const coordinates: string[] = [];
const numbers = new Map<string, number>();

/** The number of a tagged field's coordinate (`Customer.email`), for `decision`; called at schema build time. */
export function fieldNumber(coordinate: string): number {
  let n = numbers.get(coordinate);
  if (n === undefined) {
    n = coordinates.length;
    coordinates.push(coordinate);
    numbers.set(coordinate, n);
  }
  return n;
}

/** A set of tagged fields: 32 field numbers per word. */
export type FieldSet = readonly number[];

function mark(set: number[], n: number): void {
  const word = n >>> 5;
  while (set.length <= word) set.push(0);
  set[word] |= 1 << (n & 31);
}

/** The coordinates in a set, sorted. */
export function fieldNames(set: FieldSet): string[] {
  const names: string[] = [];
  for (let word = 0; word < set.length; word++) {
    for (let bit = 0; set[word] !== 0 && bit < 32; bit++) {
      if (set[word] & (1 << bit)) names.push(coordinates[word * 32 + bit]);
    }
  }
  return names.sort();
}

/** The union of sets. */
export function unionOf(sets: Iterable<FieldSet>): number[] {
  const union: number[] = [];
  for (const set of sets) {
    for (let word = 0; word < set.length; word++) union[word] = (union[word] ?? 0) | set[word];
  }
  return union;
}

/**
 * What one request did with one subject's tagged fields: those returned in
 * clear and those masked, for the per-subject access record.
 */
export interface SubjectAccess {
  subjectId: string;
  returned: FieldSet;
  masked: FieldSet;
}

/** Per subject: its decisions by field class, and the fields returned and masked. */
interface SubjectEntry {
  decisions: [Decision?, Decision?, Decision?];
  returned: number[];
  masked: number[];
}

const NONE: FieldSet = [];

/**
 * The consent side of one request: the declared purpose, the subjects whose
 * rows were loaded (with their consent), and what was masked. Decisions are
 * computed once per subject and field class (the policy's own `fieldClass`:
 * all it reads of a field) and cached, so the per-field path is a lookup.
 */
export class RequestConsent {
  private readonly subjects = new Map<string, Subject>();
  private readonly entries = new Map<string, SubjectEntry>();
  /** Subjects of which something was returned without a field decision (a key, a notice). */
  private readonly referenced = new Set<string>();
  maskedFields = 0;
  /** Subjects left out for having no legal basis; counted only with `totalCount`, else null. */
  excludedRows: number | null = null;
  readonly maskedPaths: MaskedPath[] = [];
  private readonly plans = new Map<object, unknown>();

  readonly purpose: PurposeDefinition;
  readonly now: Date;
  /** Whether the client asked for (and may see) per-path reasons. */
  readonly explain: boolean;

  constructor(purpose: PurposeDefinition, now: Date, explain: boolean) {
    this.purpose = purpose;
    this.now = now;
    this.explain = explain;
  }

  addSubject(id: string, subject: Subject): void {
    this.subjects.set(id, subject);
  }

  /**
   * How many subjects this response returned data of (masked or not): the
   * rows loaded but not returned (a connection's look-ahead row) are not counted.
   */
  subjectCount(): number {
    let count = this.entries.size;
    for (const subjectId of this.referenced) if (!this.entries.has(subjectId)) count++;
    return count;
  }

  /**
   * Per subject returned, the tagged fields returned in clear and masked
   * (empty for a subject only named by a key or a notice). The sets are
   * handed over, not copied: after `reset()` this request fills new ones.
   */
  subjectAccess(): SubjectAccess[] {
    const out: SubjectAccess[] = [];
    for (const [subjectId, entry] of this.entries) out.push({ subjectId, returned: entry.returned, masked: entry.masked });
    for (const subjectId of this.referenced) {
      if (!this.entries.has(subjectId)) out.push({ subjectId, returned: NONE, masked: NONE });
    }
    return out;
  }

  reference(subjectId: string): void {
    this.referenced.add(subjectId);
  }

  /** The decision for one field (`field`: its `fieldNumber`) of a subject, noted as returned or masked. */
  decision(subjectId: string, tag: FieldTag, field: number): Decision {
    const entry = this.entryOf(subjectId);
    const decision = this.decide(entry, subjectId, fieldClass(this.purpose, tag));
    mark(decision.effect === 'allow' ? entry.returned : entry.masked, field);
    return decision;
  }

  /** Whether the subject has a legal basis for the purpose (ordinary data). */
  permits(subjectId: string): boolean {
    return this.decide(this.entryOf(subjectId), subjectId, 'ordinary').effect !== 'exclude';
  }

  /** A field of a notice type: decided by its tag alone, the subject noted for the audit. */
  noticeDecision(subjectId: string, tag: FieldTag, field: number): Decision {
    const decision = decideNotice(this.purpose, tag);
    const entry = this.entryOf(subjectId);
    mark(decision.effect === 'allow' ? entry.returned : entry.masked, field);
    return decision;
  }

  private entryOf(subjectId: string): SubjectEntry {
    let entry = this.entries.get(subjectId);
    if (!entry) {
      entry = { decisions: [undefined, undefined, undefined], returned: [], masked: [] };
      this.entries.set(subjectId, entry);
    }
    return entry;
  }

  private decide(entry: SubjectEntry, subjectId: string, cls: FieldClass): Decision {
    // A subject we hold no consent for is `undefined` here: the engine excludes.
    // biome-ignore lint/suspicious/noAssignInExpressions: one lookup on the per-field path
    return (entry.decisions[SLOT[cls]] ??= decideClass(this.purpose, cls, this.subjects.get(subjectId), this.now));
  }

  /** Forgets what was returned and masked (not the subjects' consent): a subscription's next event starts afresh. */
  reset(): void {
    this.entries.clear();
    this.referenced.clear();
    this.maskedFields = 0;
    this.maskedPaths.length = 0;
  }

  recordMask(info: GraphQLResolveInfo, decision: Decision): void {
    this.recordMaskAt(() => responsePathAsArray(info.path).join('.'), decision);
  }

  /** A masked field, at the response path `path()` (or its field `key`), built only for a client that may see explanations. */
  recordMaskAt(path: () => string, decision: Decision, key?: string): void {
    this.maskedFields += 1;
    if (this.explain) this.maskedPaths.push({ path: key === undefined ? path() : `${path()}.${key}`, reason: decision.reason });
  }

  /** What `make` plans for a field's selection, once per request (the same field nodes for every row of a list). */
  planFor<T>(fieldNodes: object, make: () => T): T {
    let plan = this.plans.get(fieldNodes) as T | undefined;
    if (plan === undefined) {
      plan = make();
      this.plans.set(fieldNodes, plan);
    }
    return plan;
  }

  /** The `extensions.consent` of the response. */
  summary(): Record<string, unknown> {
    return {
      purpose: this.purpose.key,
      purposeVersion: this.purpose.version,
      policyVersion: POLICY_VERSION,
      subjects: this.subjectCount(),
      maskedFields: this.maskedFields,
      excludedRows: this.excludedRows,
      ...(this.explain ? { masked: this.maskedPaths } : {}),
    };
  }
}
