import type { SubjectAccessEntry, SubjectActivity, SubjectExtractEntry } from '../audit/access-records.ts';
import { fieldGroups, formatDateTime, formatList, purposeTitle } from './i18n/index.ts';
import type { ActivityEntry } from './page.ts';
import type { Speech } from './view.ts';

// The "who used my data, for what, when" page in plain words: one sentence
// per read, from the per-subject access rows (src/audit/access-records.ts):
// "Support chatbot used your name and email address for "Customer support";
// your phone number was hidden". And one per complete extract that holds
// the subject, from the decisions its manifest records per field (per
// purpose, not per subject): what was in clear for everyone in it, what was
// masked for everyone, and what depended on the subject's sensitive-data
// consent, said as the condition it was (their consent then, not now).

/** An API client's registered name as a reader would say it: "support-chatbot" → "Support chatbot". */
export function clientLabel(name: string | null, unknown: string): string {
  if (!name) return unknown;
  const words = name.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const groupNames = ({ locale, t }: Speech, groups: readonly string[]): string =>
  formatList(
    locale,
    groups.map((g) => t.activity.fields[g as keyof typeof t.activity.fields]),
  );

/** One line of the page: a read or an extract. */
export function activityLine(speech: Speech, entry: SubjectActivity): ActivityEntry {
  return entry.kind === 'read' ? activityEntry(speech, entry) : extractEntry(speech, entry);
}

export function activityEntry(speech: Speech, entry: SubjectAccessEntry): ActivityEntry {
  const { locale, t } = speech;
  const client = clientLabel(entry.clientName, t.activity.unknownClient);
  const purpose = purposeTitle(t, entry.purposeKey);
  const returned = fieldGroups(entry.returned);
  // A group shown in clear for one field is not also "hidden" for another of it (first name in clear, last name masked).
  const hidden = fieldGroups(entry.masked).filter((g) => !returned.includes(g));
  const names = (groups: readonly string[]) => groupNames(speech, groups);
  let text = returned.length > 0 ? t.activity.used(client, names(returned), purpose) : t.activity.usedNothing(client, purpose);
  if (hidden.length > 0) text += t.activity.hidden(names(hidden), hidden.length > 1);
  return { at: formatDateTime(locale, entry.occurredAt), datetime: entry.occurredAt.toISOString(), text: `${text}.` };
}

export function extractEntry(speech: Speech, entry: SubjectExtractEntry): ActivityEntry {
  const { locale, t } = speech;
  const client = clientLabel(entry.clientName, t.activity.unknownClient);
  const purpose = purposeTitle(t, entry.purposeKey);
  const groupsOf = (decision: SubjectExtractEntry['fields'][number]['decision']) =>
    fieldGroups(entry.fields.filter((f) => f.decision === decision).map((f) => f.field));
  // A group is said once, by its least hidden field: clear, then not known, then on condition, then hidden.
  const said: string[] = [];
  const take = (groups: readonly string[]) => {
    const fresh = groups.filter((g) => !said.includes(g));
    said.push(...fresh);
    return fresh;
  };
  const clear = take(groupsOf('CLEAR'));
  const unknown = take(groupsOf(null));
  const conditional = take(groupsOf('CLEAR_WITH_SENSITIVE_CONSENT'));
  const hidden = take(groupsOf('MASKED'));
  const names = (groups: readonly string[]) => groupNames(speech, groups);
  let text =
    clear.length > 0
      ? t.activity.copied(client, names(clear), purpose, entry.extractId)
      : t.activity.included(client, purpose, entry.extractId);
  if (unknown.length > 0) text += t.activity.unknownMasking(names(unknown), unknown.length > 1);
  if (conditional.length > 0) text += t.activity.ifSensitiveConsent(names(conditional), conditional.length > 1);
  if (hidden.length > 0) text += t.activity.hidden(names(hidden), hidden.length > 1);
  return { at: formatDateTime(locale, entry.occurredAt), datetime: entry.occurredAt.toISOString(), text: `${text}.` };
}
