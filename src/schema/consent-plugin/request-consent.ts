import type { GraphQLResolveInfo } from 'graphql';
import { responsePathAsArray } from 'graphql';
import { decide, POLICY_VERSION, type Decision } from '../../policy/index.ts';
import type { PurposeDefinition, Subject } from '../../policy/types.ts';
import type { FieldTag } from './types.ts';

export interface MaskedPath {
  path: string;
  reason: Decision['reason'];
}

/**
 * The consent side of one request: the declared purpose, the subjects whose
 * rows were loaded (with their consent), and what was masked. Decisions are
 * computed once per subject and tag class (not served / ordinary / sensitive)
 * and cached, so the per-field path is a map lookup.
 */
export class RequestConsent {
  private readonly subjects = new Map<string, Subject>();
  private readonly decisions = new Map<string, [Decision?, Decision?, Decision?]>();
  /** Subjects of which something was returned by a surrogate key alone. */
  private readonly referenced = new Set<string>();
  maskedFields = 0;
  /** Counted with `totalCount` for purposes that exclude rows; null when not counted. */
  excludedRows: number | null;
  readonly maskedPaths: MaskedPath[] = [];

  constructor(
    readonly purpose: PurposeDefinition,
    readonly now: Date,
    /** Whether the client asked for (and may see) per-path reasons. */
    readonly explain: boolean,
  ) {
    this.excludedRows = purpose.excludeRows ? null : 0;
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
    const served = tag.serves.includes(this.purpose.key);
    const slot = served ? (tag.sensitive ? 2 : 1) : 0;
    let cached = this.decisions.get(subjectId);
    if (!cached) {
      cached = [undefined, undefined, undefined];
      this.decisions.set(subjectId, cached);
    }
    // A subject we hold no consent for is `undefined` here: the engine masks.
    return (cached[slot] ??= decide(this.purpose, tag, this.subjects.get(subjectId), this.now));
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
