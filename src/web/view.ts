import type { ConsentEvent } from '../generated/prisma/client.ts';
import type { Decision } from '../policy/decide.ts';
import { basisFor } from '../policy/decide.ts';
import type { ConsentAction, PurposeDefinition, Regime } from '../policy/types.ts';
import { formatDate, formatDateTime, type Locale, type Messages } from './i18n/index.ts';

// What the consent center says about one purpose for one subject, in plain
// words of the subject's language, from the policy engine's decision (never a
// re-implementation of it) and the subject's latest event for the purpose (for the dates).

export interface ChoiceView {
  on: boolean;
  /** The current state in plain words, e.g. "Granted on 10 April 2026". */
  label: string;
  /** The action the button records, with its label; null when there is nothing to change. */
  action: { value: ConsentAction; label: string } | null;
}

/** The words and date formats of one page. */
export interface Speech {
  locale: Locale;
  t: Messages;
}

const on = (label: string, action: ChoiceView['action']): ChoiceView => ({ on: true, label, action });
const off = (label: string, action: ChoiceView['action']): ChoiceView => ({ on: false, label, action });

/**
 * `latest` is the subject's newest event for this purpose in their current
 * regime (ordinary data): the decision says what holds, the event says since when.
 */
export function describeChoice(
  { locale, t }: Speech,
  purpose: PurposeDefinition,
  regime: Regime,
  minor: boolean,
  decision: Decision,
  latest: Pick<ConsentEvent, 'action' | 'source' | 'recordedAt' | 'expiresAt'> | undefined,
): ChoiceView {
  const since = latest ? formatDate(locale, latest.recordedAt) : null;
  const action = (value: ConsentAction) => ({ value, label: t.actions[value] });
  const basis = basisFor(purpose, regime, minor, false);
  if (basis === 'CONTRACT') return on(t.state.needed, null);
  if (basis === 'DENY' || decision.reason === 'DENIED') return off(t.state.never, null);

  if (basis === 'OPT_OUT') {
    if (decision.effect === 'allow') {
      const positive = latest && (latest.action === 'OPT_IN' || latest.action === 'GRANT');
      return on(positive ? t.state.optedIn(since) : t.state.allowedByDefault, action('OPT_OUT'));
    }
    if (decision.reason === 'WITHDRAWN') return off(t.state.withdrawn(since), action('OPT_IN'));
    return off(t.state.optedOut(since, latest?.source === 'GPC'), action('OPT_IN'));
  }

  if (decision.effect === 'allow') {
    const until = latest?.expiresAt ? formatDate(locale, latest.expiresAt) : null;
    return on(t.state.granted(since, until), action('WITHDRAW'));
  }
  switch (decision.reason) {
    case 'WITHDRAWN':
      return off(t.state.withdrawn(since), action('GRANT'));
    case 'OPTED_OUT':
      return off(t.state.optedOut(since, false), action('GRANT'));
    case 'EXPIRED':
      return off(t.state.expired(latest?.expiresAt ? formatDate(locale, latest.expiresAt) : null), action('GRANT'));
    case 'CONSENT_OUTDATED':
      return off(t.state.outdated(since), action('GRANT'));
    case 'MINOR_REQUIRES_OPT_IN':
      return off(t.state.minor, action('GRANT'));
    default:
      return off(t.state.notUntilOptIn, action('GRANT'));
  }
}

export interface HistoryRow {
  at: string;
  what: string;
  channel: string;
}

export function historyRow(
  { locale, t }: Speech,
  event: Pick<ConsentEvent, 'purposeKey' | 'action' | 'source' | 'recordedAt' | 'sensitive'>,
  title: string,
): HistoryRow {
  return {
    at: formatDateTime(locale, event.recordedAt),
    what: t.history.entry(title, `${t.history.actions[event.action]}${event.sensitive ? t.history.sensitive : ''}`),
    channel: t.history.channels[event.source],
  };
}
