import type { ConsentAction, ConsentSource, Regime } from '../generated/prisma/enums.ts';
import type { DeploymentMode } from '../policy/types.ts';

export type { ConsentAction, ConsentSource, Regime };

/** How a request names its subject: our id, or the CRM's id. Exactly one. */
export interface SubjectRef {
  id?: string | null;
  externalId?: string | null;
}

/** A validated request to record one choice of one subject for one or more purposes. */
export interface ConsentRequest {
  subject: SubjectRef;
  purposes: readonly string[];
  action: ConsentAction;
  source: ConsentSource;
  /** The choice covers the use of special-category data (a separate scope). */
  sensitive: boolean;
  noticeVersion: string | null;
  expiresAt: Date | null;
  ipHash: string | null;
  userAgent: string | null;
  idempotencyKey: string | null;
  /** The client recording it: idempotency keys are scoped to it. */
  clientId: string;
  /** The request carried `Sec-GPC: 1`. */
  gpcSignal: boolean;
  mode: DeploymentMode;
}

export type GpcReason = 'RECORDED' | 'ALREADY_OPTED_OUT' | 'NOT_REQUIRED_FOR_RESIDENCE' | 'EXPLICIT_CHOICE_IN_REQUEST' | 'NO_SIGNAL';

export interface GpcOutcome {
  honoured: boolean;
  reason: GpcReason;
  eventId: bigint | null;
}

/**
 * The outbox payload of a `consent.changed` event: what downstream systems receive.
 * An erasure's notice (src/rights/erase.ts) is a WITHDRAW flagged `erased`, without
 * event, ids, regime or source: it names the subject only by `subjectKeys`.
 */
export interface ConsentChangePayload {
  eventId: string | null;
  customerId: string | null;
  externalId: string | null;
  purpose: string;
  purposeVersion: number;
  action: ConsentAction;
  regime: Regime | null;
  sensitive: boolean;
  source: ConsentSource | null;
  noticeVersion: string | null;
  expiresAt: string | null;
  recordedAt: string;
  /** The subject was erased: nothing more will come of them, and nothing of them is kept here. */
  erased?: boolean;
  /** An erasure's notice: the subject's pseudonym by purpose (the change's own and consent management's). */
  subjectKeys?: Record<string, string>;
  /** The ids of the extracts of the change's purpose that contain the subject. */
  extracts?: string[];
}

export const CONSENT_CHANGED_TOPIC = 'consent.changed';
