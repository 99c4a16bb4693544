import type { SubjectAccessEntry } from '../audit/access-records.ts';
import { findPurpose } from '../policy/taxonomy.ts';
import { fieldGroups, formatDateTime, formatList, purposeText } from './i18n/index.ts';
import type { ActivityEntry } from './page.ts';
import type { Speech } from './view.ts';

// The "who used my data, for what, when" page in plain words: one sentence
// per read, from the per-subject access rows (src/audit/access-records.ts):
// "Support chatbot used your name and email address for "Customer support";
// your phone number was hidden".

/** An API client's registered name as a reader would say it: "support-chatbot" → "Support chatbot". */
export function clientLabel(name: string | null, unknown: string): string {
  if (!name) return unknown;
  const words = name.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function activityEntry({ locale, t }: Speech, entry: SubjectAccessEntry): ActivityEntry {
  const client = clientLabel(entry.clientName, t.activity.unknownClient);
  const known = findPurpose(entry.purposeKey);
  const purpose = known ? purposeText(t, known).title : entry.purposeKey;
  const returned = fieldGroups(entry.returned);
  // A group shown in clear for one field is not also "hidden" for another of it (first name in clear, last name masked).
  const hidden = fieldGroups(entry.masked).filter((g) => !returned.includes(g));
  const names = (groups: readonly string[]) =>
    formatList(
      locale,
      groups.map((g) => t.activity.fields[g as keyof typeof t.activity.fields]),
    );
  let text = returned.length > 0 ? t.activity.used(client, names(returned), purpose) : t.activity.usedNothing(client, purpose);
  if (hidden.length > 0) text += t.activity.hidden(names(hidden), hidden.length > 1);
  return { at: formatDateTime(locale, entry.occurredAt), datetime: entry.occurredAt.toISOString(), text: `${text}.` };
}
