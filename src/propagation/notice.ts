import type { ConsentChangePayload } from '../consent/types.ts';
import type { Masker } from '../masking/index.ts';

/**
 * What a webhook subscriber of a purpose receives about a change: the fields
 * of the ConsentChange type that serve every purpose (a test keeps the two in
 * step), and the subject as its pseudonym under the change's purpose, never
 * our id or the CRM's.
 */
export interface ConsentNotice {
  subject: string;
  purpose: string;
  purposeVersion: number;
  action: ConsentChangePayload['action'];
  recordedAt: string;
}

export function noticeOf(change: ConsentChangePayload, masker: Masker): ConsentNotice {
  return {
    subject: masker.pseudonym(change.customerId, change.purpose),
    purpose: change.purpose,
    purposeVersion: change.purposeVersion,
    action: change.action,
    recordedAt: change.recordedAt,
  };
}
