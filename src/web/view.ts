import type { ConsentEvent } from '../generated/prisma/client.ts';
import type { Decision } from '../policy/decide.ts';
import { basisFor } from '../policy/decide.ts';
import type { ConsentAction, PurposeDefinition, Regime } from '../policy/types.ts';

// What the consent center says about one purpose for one subject, in plain
// words, from the policy engine's decision (never a re-implementation of it)
// and the subject's latest event for the purpose (for the dates).

export interface ChoiceView {
  on: boolean;
  /** The current state in plain words, e.g. "Granted on 10 April 2026". */
  label: string;
  /** The action the button records, with its label; null when there is nothing to change. */
  action: { value: ConsentAction; label: string } | null;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
  timeZoneName: 'short',
});

export const formatDate = (date: Date): string => dateFormat.format(date);
export const formatDateTime = (date: Date): string => dateTimeFormat.format(date);

const on = (label: string, action: ChoiceView['action']): ChoiceView => ({ on: true, label, action });
const off = (label: string, action: ChoiceView['action']): ChoiceView => ({ on: false, label, action });

/**
 * `latest` is the subject's newest event for this purpose in their current
 * regime (ordinary data): the decision says what holds, the event says since when.
 */
export function describeChoice(
  purpose: PurposeDefinition,
  regime: Regime,
  minor: boolean,
  decision: Decision,
  latest: Pick<ConsentEvent, 'action' | 'source' | 'recordedAt' | 'expiresAt'> | undefined,
): ChoiceView {
  const since = latest ? ` on ${formatDate(latest.recordedAt)}` : '';
  const basis = basisFor(purpose, regime, minor, false);
  if (basis === 'CONTRACT') return on('Needed to serve you', null);
  if (basis === 'DENY' || decision.reason === 'DENIED') return off('Never used for you', null);

  if (basis === 'OPT_OUT') {
    const optOut = { value: 'OPT_OUT' as const, label: 'Opt out' };
    const optIn = { value: 'OPT_IN' as const, label: 'Opt back in' };
    if (decision.effect === 'allow') {
      const positive = latest && (latest.action === 'OPT_IN' || latest.action === 'GRANT');
      return on(positive ? `Opted in${since}` : 'Allowed by default until you opt out', optOut);
    }
    if (decision.reason === 'WITHDRAWN') return off(`Withdrawn${since}`, optIn);
    const byGpc = latest?.source === 'GPC' ? " by your browser's Global Privacy Control signal" : '';
    return off(`Opted out${byGpc}${since}`, optIn);
  }

  const grant = { value: 'GRANT' as const, label: 'Give consent' };
  if (decision.effect === 'allow') {
    const until = latest?.expiresAt ? `, until ${formatDate(latest.expiresAt)}` : '';
    return on(`Granted${since}${until}`, { value: 'WITHDRAW', label: 'Withdraw consent' });
  }
  switch (decision.reason) {
    case 'WITHDRAWN':
      return off(`Withdrawn${since}`, grant);
    case 'OPTED_OUT':
      return off(`Opted out${since}`, grant);
    case 'EXPIRED':
      return off(`Your consent expired${latest?.expiresAt ? ` on ${formatDate(latest.expiresAt)}` : ''}`, grant);
    case 'CONSENT_OUTDATED':
      return off(`Needs your consent again: we changed this purpose after you agreed${since}`, grant);
    case 'MINOR_REQUIRES_OPT_IN':
      return off('Not used until you opt in (the law requires it under 16)', grant);
    default:
      return off('Not used until you opt in', grant);
  }
}

const REGIME_NOTES: Record<Regime, string> = {
  GDPR: "Your data is protected by the EU's General Data Protection Regulation (GDPR): we use it for the purposes below only if you say yes, and you can change your mind at any time.",
  CCPA: 'Your data is protected by California privacy law (CCPA/CPRA): you can opt out of the purposes below at any time; training AI models always needs your yes first.',
  US_STATE:
    "Your data is protected by your state's privacy law: you can opt out of the purposes below at any time; some need your yes first.",
  NONE: 'We apply our strictest rules to you: we use your data for the purposes below only if you say yes, and you can change your mind at any time.',
};

export const regimeNote = (regime: Regime): string => REGIME_NOTES[regime];

/** The lawful basis of a purpose that needs no consent, in plain words. */
export const CONTRACT_BASIS =
  'We need this to provide what you asked us for; the law calls this "performance of a contract", so it does not depend on your consent.';

const ACTION_WORDS: Record<ConsentAction, string> = {
  GRANT: 'consent given',
  WITHDRAW: 'consent withdrawn',
  OPT_OUT: 'opted out',
  OPT_IN: 'opted in',
};

const CHANNEL_WORDS: Record<ConsentEvent['source'], string> = {
  CONSENT_CENTER: 'This page',
  EMAIL_LINK: 'Link in an email',
  CRM: 'Customer service',
  API: 'Our systems',
  CHATBOT: 'Support chat',
  GPC: "Your browser's Global Privacy Control",
};

export interface HistoryRow {
  at: string;
  what: string;
  channel: string;
}

export function historyRow(
  event: Pick<ConsentEvent, 'purposeKey' | 'action' | 'source' | 'recordedAt' | 'sensitive'>,
  title: string,
): HistoryRow {
  return {
    at: formatDateTime(event.recordedAt),
    what: `${title}: ${ACTION_WORDS[event.action]}${event.sensitive ? ' (sensitive data)' : ''}`,
    channel: CHANNEL_WORDS[event.source],
  };
}
