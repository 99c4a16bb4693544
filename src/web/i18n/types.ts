import type { ConsentEvent } from '../../generated/prisma/client.ts';
import type { ConsentAction, Regime } from '../../policy/types.ts';

// Everything the consent center says, per language. Sentences that hold a
// value are functions, so each language places it where its grammar wants.

export const LOCALES = ['en', 'de', 'fr', 'es'] as const;
export type Locale = (typeof LOCALES)[number];

/** What the page calls a group of tagged fields on the "who used my data" page. */
export type FieldGroup =
  | 'name'
  | 'email'
  | 'phone'
  | 'customerNumber'
  | 'birthDate'
  | 'address'
  | 'country'
  | 'language'
  | 'predictions'
  | 'purchases'
  | 'health'
  | 'location'
  | 'account'
  | 'orders'
  | 'support'
  | 'marketing'
  | 'web'
  | 'choices'
  | 'accessLog'
  | 'other';

export interface MessageText {
  title: string;
  paragraphs: string[];
}

export interface Messages {
  /** The language's own name, for the switcher. */
  languageName: string;
  languageNav: string;
  skipLink: string;
  pageTitle: string;
  hello(name: string): string;
  intro: string;
  regime: Record<Regime, string>;
  choicesHeading: string;
  necessaryHeading: string;
  historyHeading: string;
  noHistory: string;
  historyCaption(shown: number, earlier: number): string;
  columns: { when: string; what: string; channel: string };
  on: string;
  off: string;
  cannotSwitchOff: string;
  contractBasis: string;
  footer(expires: string): string;
  /** Purpose titles and descriptions, by key. */
  purposes: Record<string, { title: string; description: string }>;
  state: {
    needed: string;
    never: string;
    optedIn(since: string | null): string;
    allowedByDefault: string;
    withdrawn(since: string | null): string;
    optedOut(since: string | null, byGpc: boolean): string;
    granted(since: string | null, until: string | null): string;
    expired(on: string | null): string;
    outdated(since: string | null): string;
    minor: string;
    notUntilOptIn: string;
  };
  actions: Record<ConsentAction, string>;
  saving: string;
  saved(title: string, on: boolean): string;
  stale: string;
  goTo(title: string): string;
  gpc: {
    confirmed(date: string, purposes: string): string;
    recorded(purposes: string): string;
    already(purposes: string): string;
    notRequired: string;
  };
  withdrawAll: {
    heading: string;
    explanation: string;
    button: string;
    nothing: string;
    done(purposes: string): string;
  };
  limitSensitive: {
    heading: string;
    explanation: string;
    button: string;
    undo: string;
    notLimited: string;
    limited(since: string | null): string;
    done: string;
    undone: string;
  };
  history: {
    /** "<purpose>: <what was done>" */
    entry(title: string, action: string): string;
    actions: Record<ConsentAction, string>;
    channels: Record<ConsentEvent['source'], string>;
    sensitive: string;
  };
  activity: {
    link: string;
    heading: string;
    intro: string;
    none: string;
    back: string;
    older: string;
    newest: string;
    unknownClient: string;
    /** "<client> used your <fields> for “<purpose>”" */
    used(client: string, fields: string, purpose: string): string;
    /** Nothing in clear: only masked values, or the subject's pseudonym. */
    usedNothing(client: string, purpose: string): string;
    /** Appended to `used`: what was masked (`plural`: more than one group). */
    hidden(fields: string, plural: boolean): string;
    /** A complete extract holding the subject: "<client> copied your <fields> into a data set for “<purpose>” (data set <id>)". */
    copied(client: string, fields: string, purpose: string, extract: string): string;
    /** The same with nothing of theirs in clear for everyone in it (their pseudonym, masked values). */
    included(client: string, purpose: string, extract: string): string;
    /** Appended: special-category fields, in clear only with the subject's sensitive-data consent at the time. */
    ifSensitiveConsent(fields: string, plural: boolean): string;
    /** Appended: fields whose decision the extract's manifest does not record. */
    unknownMasking(fields: string, plural: boolean): string;
    fields: Record<FieldGroup, string>;
  };
  download: { link: string; description: string };
  invalidLink: MessageText;
  formRefused: MessageText;
  failed: MessageText;
}
