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

/**
 * The consent side of one request: the declared purpose, the subjects whose
 * rows were loaded (with their consent), and what was masked. Decisions are
 * computed once per subject and field class (the policy's own `fieldClass`:
 * all it reads of a field) and cached, so the per-field path is a lookup.
 */
export class RequestConsent {
  private readonly subjects = new Map<string, Subject>();
  private readonly decisions = new Map<string, [Decision?, Decision?, Decision?]>();
  /** Subjects of which something was returned without a field decision (a key, a notice). */
  private readonly referenced = new Set<string>();
  maskedFields = 0;
  /** Subjects left out for having no legal basis; counted only with `totalCount`, else null. */
  excludedRows: number | null = null;
  readonly maskedPaths: MaskedPath[] = [];

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
   * The subjects whose data this response returned (masked or not): the
   * rows loaded but not returned (a connection's look-ahead row) are not.
   */
  subjectIds(): string[] {
    return [...new Set([...this.decisions.keys(), ...this.referenced])].sort();
  }

  reference(subjectId: string): void {
    this.referenced.add(subjectId);
  }

  decision(subjectId: string, tag: FieldTag): Decision {
    return this.decisionOf(subjectId, fieldClass(this.purpose, tag));
  }

  /** Whether the subject has a legal basis for the purpose (ordinary data). */
  permits(subjectId: string): boolean {
    return this.decisionOf(subjectId, 'ordinary').effect !== 'exclude';
  }

  /** A field of a notice type: decided by its tag alone, the subject noted for the audit. */
  noticeDecision(subjectId: string, tag: FieldTag): Decision {
    this.referenced.add(subjectId);
    return decideNotice(this.purpose, tag);
  }

  private decisionOf(subjectId: string, cls: FieldClass): Decision {
    let cached = this.decisions.get(subjectId);
    if (!cached) {
      cached = [undefined, undefined, undefined];
      this.decisions.set(subjectId, cached);
    }
    // A subject we hold no consent for is `undefined` here: the engine excludes.
    // biome-ignore lint/suspicious/noAssignInExpressions: one lookup on the per-field path
    return (cached[SLOT[cls]] ??= decideClass(this.purpose, cls, this.subjects.get(subjectId), this.now));
  }

  /** Forgets what was returned and masked (not the subjects' consent): a subscription's next event starts afresh. */
  reset(): void {
    this.decisions.clear();
    this.referenced.clear();
    this.maskedFields = 0;
    this.maskedPaths.length = 0;
  }

  recordMask(info: GraphQLResolveInfo, decision: Decision): void {
    this.maskedFields += 1;
    if (this.explain) {
      this.maskedPaths.push({ path: responsePathAsArray(info.path).join('.'), reason: decision.reason });
    }
  }

  /** The `extensions.consent` of the response. */
  summary(): Record<string, unknown> {
    return {
      purpose: this.purpose.key,
      purposeVersion: this.purpose.version,
      policyVersion: POLICY_VERSION,
      subjects: this.subjectIds().length,
      maskedFields: this.maskedFields,
      excludedRows: this.excludedRows,
      ...(this.explain ? { masked: this.maskedPaths } : {}),
    };
  }
}
