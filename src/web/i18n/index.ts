import { findPurpose } from '../../policy/taxonomy.ts';
import { de } from './de.ts';
import { en } from './en.ts';
import { es } from './es.ts';
import { fr } from './fr.ts';
import { LOCALES, type FieldGroup, type Locale, type Messages } from './types.ts';

export { LOCALES, type FieldGroup, type Locale, type Messages, type MessageText } from './types.ts';

// The consent center's languages. Which one a page speaks: the visitor's own
// choice on the page (a `lang` parameter, then remembered in a cookie), else
// the language on the customer record, else the browser's Accept-Language,
// else English. Purpose texts are translated here, beside the page, so the
// reviewed taxonomy (src/policy/taxonomy.ts) stays one source in English.

export const CATALOGS: Record<Locale, Messages> = { en, de, fr, es };

/** Cookie remembering a language picked on the page (only the page's own path; no personal data). */
export const LANGUAGE_COOKIE = 'consentql_lang';

/** A supported locale for a tag such as "de", "de-AT" or "FR_ca"; null for anything else. */
export function localeOf(tag: string | null | undefined): Locale | null {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return (LOCALES as readonly string[]).includes(primary ?? '') ? (primary as Locale) : null;
}

/** The best supported language of an Accept-Language header, by its q-values (ties: the order given). */
export function fromAcceptLanguage(header: string | null | undefined): Locale | null {
  if (!header) return null;
  const ranked = header
    .split(',')
    .slice(0, 20)
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { locale: localeOf(tag), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.locale !== null && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked[0]?.locale ?? null;
}

export function cookieLocale(header: string | null | undefined): Locale | null {
  for (const part of (header ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === LANGUAGE_COOKIE) return localeOf(value);
  }
  return null;
}

export interface LocaleSources {
  /** A `lang` the visitor picked on the page (query string or form). */
  chosen?: string | null;
  cookie?: string | null;
  preferred?: string | null;
  acceptLanguage?: string | null;
}

export function negotiateLocale(sources: LocaleSources): Locale {
  return (
    localeOf(sources.chosen) ??
    cookieLocale(sources.cookie) ??
    localeOf(sources.preferred) ??
    fromAcceptLanguage(sources.acceptLanguage) ??
    'en'
  );
}

const dateFormats = new Map<Locale, { date: Intl.DateTimeFormat; dateTime: Intl.DateTimeFormat; list: Intl.ListFormat }>();

function formats(locale: Locale) {
  let f = dateFormats.get(locale);
  if (!f) {
    const tag = locale === 'en' ? 'en-GB' : locale;
    f = {
      date: new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }),
      dateTime: new Intl.DateTimeFormat(tag, {
        day: 'numeric',
        month: 'short',
        year: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        timeZone: 'UTC',
        timeZoneName: 'short',
      }),
      list: new Intl.ListFormat(tag, { style: 'long', type: 'conjunction' }),
    };
    dateFormats.set(locale, f);
  }
  return f;
}

export const formatDate = (locale: Locale, date: Date): string => formats(locale).date.format(date);
export const formatDateTime = (locale: Locale, date: Date): string => formats(locale).dateTime.format(date);
export const formatList = (locale: Locale, items: readonly string[]): string => formats(locale).list.format(items);

/** A purpose's title and description in `locale` (English from the taxonomy where none is given). */
export function purposeText(messages: Messages, purpose: { key: string; title: string; description: string }) {
  return messages.purposes[purpose.key] ?? { title: purpose.title, description: purpose.description };
}

/** A purpose's title in the page's language; its key when the taxonomy no longer has it. */
export function purposeTitle(messages: Messages, key: string): string {
  const purpose = findPurpose(key);
  return purpose ? purposeText(messages, purpose).title : key;
}

const CUSTOMER_FIELDS: Record<string, FieldGroup> = {
  firstName: 'name',
  lastName: 'name',
  email: 'email',
  phone: 'phone',
  externalId: 'customerNumber',
  birthDate: 'birthDate',
  street: 'address',
  postalCode: 'address',
  city: 'address',
  region: 'country',
  country: 'country',
  preferredLanguage: 'language',
  segment: 'predictions',
  churnScore: 'predictions',
  riskBand: 'predictions',
  lifetimeValue: 'purchases',
  healthInterests: 'health',
  preciseLocation: 'location',
  createdAt: 'account',
  orders: 'orders',
  tickets: 'support',
  interactions: 'marketing',
  webEvents: 'web',
};

const TYPES: Record<string, FieldGroup> = {
  Order: 'orders',
  OrderItem: 'orders',
  SupportTicket: 'support',
  TicketMessage: 'support',
  MarketingInteraction: 'marketing',
  WebEvent: 'web',
  ConsentEvent: 'choices',
  PurposeConsentStatus: 'choices',
  ConsentChange: 'choices',
  SuppressionEntry: 'choices',
  SubjectAccessRecord: 'accessLog',
};

/** The plain-language group of a tagged field (`Customer.email`). */
export function fieldGroup(coordinate: string): FieldGroup {
  const [type, field] = coordinate.split('.');
  if (type === 'Customer') return CUSTOMER_FIELDS[field] ?? 'other';
  return TYPES[type] ?? 'other';
}

/** Distinct groups of the fields, in the order of the catalog (stable, readable). */
export function fieldGroups(coordinates: readonly string[]): FieldGroup[] {
  const groups = new Set(coordinates.map(fieldGroup));
  return (Object.keys(en.activity.fields) as FieldGroup[]).filter((g) => groups.has(g));
}
