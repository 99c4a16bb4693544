import { PURPOSES, type PurposeKey } from '../../policy/taxonomy.ts';
import type { ConsentAction, Regime } from '../../policy/types.ts';
import { iso } from './format.ts';
import { COLUMNS, RowBuffer } from './insert.ts';

// The consent ledger as generated: events held in memory until their ids are
// known, then written as consent_event rows.

export type ConsentSource = 'CONSENT_CENTER' | 'EMAIL_LINK' | 'CRM' | 'API' | 'CHATBOT' | 'GPC';

export interface PendingEvent {
  customerId: string;
  purposeKey: PurposeKey;
  action: ConsentAction;
  source: ConsentSource;
  regime: Regime;
  sensitive: boolean;
  at: number;
  expiresAt: number | null;
  ipHash: string | null;
  userAgent: string | null;
  /** Generation order: ties on `at` keep it, so ids are stable. */
  seq: number;
}

const PURPOSE_VERSION = new Map<string, number>(PURPOSES.map((p) => [p.key, p.version]));

/** The privacy notice in force at a time (shown when the choice was made). */
export function noticeVersion(at: number): string {
  if (at < Date.UTC(2021, 6, 1)) return 'notice-2018-05';
  if (at < Date.UTC(2024, 1, 1)) return 'notice-2021-07';
  if (at < Date.UTC(2025, 0, 1)) return 'notice-2024-02';
  if (at < Date.UTC(2026, 2, 1)) return 'notice-2025-01';
  return 'notice-2026-03';
}

/** The consent_event rows, with explicit ids from `firstId` on (stable from run to run). */
export function ledgerBuffer(events: readonly PendingEvent[], firstId: bigint): RowBuffer {
  const ledger = new RowBuffer(COLUMNS.consent_event);
  events.forEach((e, i) => {
    ledger.push(
      String(firstId + BigInt(i)),
      e.customerId,
      e.purposeKey,
      PURPOSE_VERSION.get(e.purposeKey) ?? 1,
      e.action,
      e.source,
      noticeVersion(e.at),
      e.regime,
      e.sensitive,
      e.expiresAt === null ? null : iso(e.expiresAt),
      e.ipHash,
      e.userAgent,
      iso(e.at),
    );
  });
  return ledger;
}
