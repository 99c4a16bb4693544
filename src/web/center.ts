import type { Database } from '../db/database.ts';
import { consentHistory, consentStatus } from '../consent/history.ts';
import type { HmacKeyring } from '../masking/types.ts';
import { isMinor, regimeOf } from '../policy/regime.ts';
import { PURPOSES, findPurpose, takesConsent } from '../policy/taxonomy.ts';
import type { ConsentAction, DeploymentMode, PurposeDefinition, Regime } from '../policy/types.ts';
import { formatDate, purposeText, purposeTitle } from './i18n/index.ts';
import { createFormToken } from './links.ts';
import type { Notice, PurposeChoice } from './page.ts';
import { describeChoice, historyRow, type HistoryRow, type Speech } from './view.ts';

// What the consent center shows one subject, and what its one-step forms act
// on: the purposes they can change, with the engine's decision for each; the
// purposes a withdraw-everything would switch off; and, for a Californian,
// the purposes whose use of sensitive data they can limit (CPRA §1798.121).

export const HISTORY_SHOWN = 12;

export interface CenterSubject {
  id: string;
  country: string | null;
  region: string | null;
  birthDate: Date | null;
}

/** The notice a subject is shown for a purpose: its text is versioned with the purpose. */
export const noticeVersionOf = (purposeVersion: number): string => `notice-v${purposeVersion}`;

/**
 * The purposes whose use of sensitive data, in this regime, holds until the
 * subject limits it (an opt-out basis for sensitive data): California's right
 * to limit. Elsewhere sensitive data already needs an opt-in, so there is
 * nothing to limit.
 */
export function sensitiveLimitPurposes(regime: Regime): PurposeDefinition[] {
  if (regime !== 'CCPA') return [];
  return PURPOSES.filter((p) => takesConsent(p) && p.sensitiveBasis[regime] === 'OPT_OUT');
}

export interface CenterState {
  regime: Regime;
  choices: (PurposeChoice & { purpose: PurposeDefinition })[];
  history: HistoryRow[];
  earlierEvents: number;
  /** Null where the right to limit does not apply. */
  sensitive: { limited: boolean; since: Date | null; purposes: PurposeDefinition[] } | null;
}

export async function centerState(
  db: Database,
  keyring: HmacKeyring,
  mode: DeploymentMode,
  speech: Speech,
  subject: CenterSubject,
  now = new Date(),
): Promise<CenterState> {
  const statuses = await consentStatus(db.prisma, { ...subject, externalId: '' }, mode, now);
  const events = await consentHistory(db.prisma, subject.id);
  const regime = regimeOf(subject.country, subject.region, mode);
  const minor = isMinor(subject.birthDate, now);
  const latest = (key: string) => events.findLast((e) => e.purposeKey === key && e.regime === regime && !e.sensitive);
  const choices = statuses.map((status) => {
    const purpose = findPurpose(status.purposeKey)!;
    const text = purposeText(speech.t, purpose);
    return {
      purpose,
      key: purpose.key,
      title: text.title,
      description: text.description,
      choice: describeChoice(speech, purpose, regime, minor, status.decision, latest(purpose.key)),
      formToken: createFormToken(keyring, subject.id),
    };
  });
  const limitable = sensitiveLimitPurposes(regime);
  let sensitive: CenterState['sensitive'] = null;
  if (limitable.length > 0) {
    const states = await db.prisma.consentState.findMany({
      where: { customerId: subject.id, regime, sensitive: true, purposeKey: { in: limitable.map((p) => p.key) } },
      select: { purposeKey: true, action: true, updatedAt: true },
    });
    const limitedKeys = new Set(states.filter((s) => s.action === 'OPT_OUT' || s.action === 'WITHDRAW').map((s) => s.purposeKey));
    const limited = limitable.every((p) => limitedKeys.has(p.key));
    const since = limited ? new Date(Math.max(...states.map((s) => s.updatedAt.getTime()))) : null;
    sensitive = { limited, since, purposes: limitable };
  }
  const title = (key: string) => purposeTitle(speech.t, key);
  return {
    regime,
    choices,
    history: events
      .slice(-HISTORY_SHOWN)
      .reverse()
      .map((e) => historyRow(speech, e, title(e.purposeKey))),
    earlierEvents: Math.max(0, events.length - HISTORY_SHOWN),
    sensitive,
  };
}

/** What "withdraw everything" records: per action the regime requires (WITHDRAW for consent, OPT_OUT for an opt-out), the purposes now on. */
export function withdrawAllPlan(state: CenterState): Map<ConsentAction, PurposeDefinition[]> {
  const plan = new Map<ConsentAction, PurposeDefinition[]>();
  for (const { choice, purpose } of state.choices) {
    const action = choice.action?.value;
    if (!choice.on || (action !== 'WITHDRAW' && action !== 'OPT_OUT')) continue;
    plan.set(action, [...(plan.get(action) ?? []), purpose]);
  }
  return plan;
}

/** The status messages a page shows after a redirect (`saved`, `done`, `notice`), in the page's language. */
export function savedNotices(speech: Speech, state: CenterState, params: URLSearchParams): Notice[] {
  const { t, locale } = speech;
  const notices: Notice[] = [];
  const saved = params.get('saved');
  const choice = state.choices.find((c) => c.key === saved);
  if (choice) {
    notices.push({
      kind: 'success',
      text: t.saved(choice.title, choice.choice.on),
      target: { id: `purpose-${choice.key}`, label: t.goTo(choice.title) },
    });
  } else if (saved === 'withdraw-all') {
    const titles = (params.get('done') ?? '')
      .split(',')
      .map((key) => state.choices.find((c) => c.key === key)?.title)
      .filter((title): title is string => title !== undefined);
    notices.push({
      kind: 'success',
      text:
        titles.length > 0
          ? t.withdrawAll.done(new Intl.ListFormat(locale === 'en' ? 'en-GB' : locale).format(titles))
          : t.withdrawAll.nothing,
      target: { id: 'purpose-withdraw-all', label: t.goTo(t.withdrawAll.heading) },
    });
  } else if ((saved === 'limit-sensitive' || saved === 'allow-sensitive') && state.sensitive) {
    notices.push({
      kind: 'success',
      text: saved === 'limit-sensitive' ? t.limitSensitive.done : t.limitSensitive.undone,
      target: { id: 'purpose-limit-sensitive', label: t.goTo(t.limitSensitive.heading) },
    });
  }
  if (params.get('notice') === 'stale') notices.unshift({ kind: 'warning', text: t.stale });
  return notices;
}

export const sensitiveLabel = (speech: Speech, sensitive: NonNullable<CenterState['sensitive']>): string =>
  sensitive.limited
    ? speech.t.limitSensitive.limited(sensitive.since ? formatDate(speech.locale, sensitive.since) : null)
    : speech.t.limitSensitive.notLimited;
