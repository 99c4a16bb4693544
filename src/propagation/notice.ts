import type { ConsentChangePayload } from '../consent/types.ts';
import type { Masker } from '../masking/index.ts';

/**
 * What a webhook subscriber of a purpose receives about a change: the fields
 * of the ConsentChange type that serve every purpose (a test keeps the two in
 * step), and the subject as its pseudonym under the change's purpose, never
 * our id or the CRM's.
 */
export interface ConsentNotice {
  subject: string | null;
  purpose: string;
  purposeVersion: number;
  action: ConsentChangePayload['action'];
  recordedAt: string;
  /** The subject was erased (the action is then WITHDRAW): delete what you hold of them. */
  erased: boolean;
  /** Your extracts of the purpose that contain the subject. */
  extracts: string[];
}

export function noticeOf(change: ConsentChangePayload, masker: Masker): ConsentNotice {
  return {
    // An erased subject's id is gone: its notice carries the pseudonym, computed at erasure.
    subject:
      change.customerId === null ? (change.subjectKeys?.[change.purpose] ?? null) : masker.pseudonym(change.customerId, change.purpose),
    purpose: change.purpose,
    purposeVersion: change.purposeVersion,
    action: change.action,
    recordedAt: change.recordedAt,
    erased: change.erased === true,
    extracts: change.extracts ?? [],
  };
}
