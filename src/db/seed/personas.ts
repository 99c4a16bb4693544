import type { PurposeKey } from '../../policy/taxonomy.ts';
import type { ConsentAction } from '../../policy/types.ts';
import type { TopicKey } from './conversations.ts';
import type { ConsentSource } from './ledger.ts';

// Hand-written customers, one per case the consent layer must get right; the
// README and the end-to-end tests refer to them by external id.

export interface DemoPersona {
  externalId: string;
  firstName: string;
  lastName: string;
  email: string;
  country: string | null;
  region: string | null;
  /** What the persona demonstrates (README, end-to-end tests). */
  demonstrates: string;
}

export interface PersonaConsent {
  purposeKey: PurposeKey;
  action: ConsentAction;
  source: ConsentSource;
  at: string;
  expiresAt?: string;
  sensitive?: boolean;
}

export interface PersonaSpec extends DemoPersona {
  place: string;
  birthDate: string | null;
  language: string | null;
  segment: string;
  healthInterests: string[];
  preciseLocation: string | null;
  createdAt: string;
  consents: PersonaConsent[];
  ticketTopic?: TopicKey;
}

export const PERSONA_SPECS: PersonaSpec[] = [
  {
    externalId: 'CRM-EU-NO-MARKETING',
    firstName: 'Lena',
    lastName: 'Schmidt',
    email: 'lena.schmidt@example.com',
    country: 'DE',
    region: 'Berlin',
    place: 'Berlin',
    birthDate: '1988-04-12',
    language: 'de',
    segment: 'loyal',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2023-02-11T09:14:00.000Z',
    consents: [],
    demonstrates:
      'GDPR (DE) with no consent events at all: marketing and every other opt-in purpose are masked; transactional and support data stay visible.',
    ticketTopic: 'delivery',
  },
  {
    externalId: 'CRM-EU-MARKETING',
    firstName: 'Camille',
    lastName: 'Martin',
    email: 'camille.martin@example.com',
    country: 'FR',
    region: 'Île-de-France',
    place: 'Paris',
    birthDate: '1991-09-03',
    language: 'fr',
    segment: 'vip',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2022-05-20T17:40:00.000Z',
    consents: [{ purposeKey: 'marketing', action: 'GRANT', source: 'CONSENT_CENTER', at: '2026-04-10T08:30:00.000Z' }],
    demonstrates:
      'GDPR (FR) with a current marketing grant (version 1, no expiry): visible for marketing, masked for other opt-in purposes.',
    ticketTopic: 'size',
  },
  {
    externalId: 'CRM-CA-DEFAULT',
    firstName: 'Emily',
    lastName: 'Johnson',
    email: 'emily.johnson@example.com',
    country: 'US',
    region: 'CA',
    place: 'Los Angeles',
    birthDate: '1985-06-21',
    language: 'en',
    segment: 'loyal',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2021-10-02T20:05:00.000Z',
    consents: [],
    demonstrates:
      'CCPA (California) adult who never opted out of anything: opt-out purposes (marketing, analytics, personalization, ad_sharing) are allowed; ai_training is not (opt-in everywhere).',
    ticketTopic: 'refund',
  },
  {
    externalId: 'CRM-CA-GPC',
    firstName: 'Michael',
    lastName: 'Garcia',
    email: 'michael.garcia@example.com',
    country: 'US',
    region: 'CA',
    place: 'San Francisco',
    birthDate: '1979-11-30',
    language: 'en',
    segment: 'at_risk',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2020-08-14T15:22:00.000Z',
    consents: [{ purposeKey: 'ad_sharing', action: 'OPT_OUT', source: 'GPC', at: '2026-07-02T19:47:00.000Z' }],
    demonstrates:
      'CCPA (California) with a Global Privacy Control opt-out of ad_sharing and nothing else: masked for ad_sharing, visible for marketing and analytics.',
    ticketTopic: 'damaged',
  },
  {
    externalId: 'CRM-CA-MINOR',
    firstName: 'Sophia',
    lastName: 'Nguyen',
    email: 'sophia.nguyen@example.com',
    country: 'US',
    region: 'CA',
    place: 'San Diego',
    birthDate: '2011-03-15',
    language: 'en',
    segment: 'new',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2026-06-30T16:10:00.000Z',
    consents: [],
    demonstrates:
      'CCPA (California), 15 years old at the reference date: ad_sharing needs an opt-in for under-16s, so it is masked although she never opted out.',
    ticketTopic: 'account',
  },
  {
    externalId: 'CRM-EU-AI-TRAINING',
    firstName: 'Aoife',
    lastName: 'Murphy',
    email: 'aoife.murphy@example.com',
    country: 'IE',
    region: 'Leinster',
    place: 'Dublin',
    birthDate: '1993-02-14',
    language: 'en',
    segment: 'loyal',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2022-11-28T11:00:00.000Z',
    consents: [{ purposeKey: 'ai_training', action: 'GRANT', source: 'CONSENT_CENTER', at: '2026-05-20T10:12:00.000Z' }],
    demonstrates: 'GDPR (IE) with an ai_training grant: included in the churn-model training set (row exclusion lets her through).',
    ticketTopic: 'delivery',
  },
  {
    externalId: 'CRM-EU-WITHDRAWN',
    firstName: 'Daan',
    lastName: 'de Vries',
    email: 'daan.devries@example.com',
    country: 'NL',
    region: 'North Holland',
    place: 'Amsterdam',
    birthDate: '1987-07-08',
    language: 'nl',
    segment: 'dormant',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2021-03-09T07:55:00.000Z',
    consents: [
      { purposeKey: 'marketing', action: 'GRANT', source: 'CONSENT_CENTER', at: '2025-11-03T12:00:00.000Z' },
      { purposeKey: 'marketing', action: 'WITHDRAW', source: 'EMAIL_LINK', at: '2026-08-14T06:31:00.000Z' },
    ],
    demonstrates:
      'GDPR (NL): marketing granted, then withdrawn through an email unsubscribe link; the withdrawal wins, marketing is masked.',
    ticketTopic: 'refund',
  },
  {
    externalId: 'CRM-EU-EXPIRED',
    firstName: 'Lucía',
    lastName: 'García',
    email: 'lucia.garcia@example.com',
    country: 'ES',
    region: 'Community of Madrid',
    place: 'Madrid',
    birthDate: '1990-12-01',
    language: 'es',
    segment: 'at_risk',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2022-01-17T13:45:00.000Z',
    consents: [
      {
        purposeKey: 'analytics',
        action: 'GRANT',
        source: 'API',
        at: '2024-06-10T09:00:00.000Z',
        expiresAt: '2025-07-10T09:00:00.000Z',
      },
    ],
    demonstrates: 'GDPR (ES) with an analytics grant that expired in July 2025: treated as no consent, analytics masked.',
    ticketTopic: 'address',
  },
  {
    externalId: 'CRM-VA-SENSITIVE',
    firstName: 'James',
    lastName: 'Williams',
    email: 'james.williams@example.com',
    country: 'US',
    region: 'VA',
    place: 'Richmond',
    birthDate: '1975-03-09',
    language: 'en',
    segment: 'vip',
    healthInterests: ['diabetes care', 'heart health'],
    preciseLocation: '37.5407,-77.4360',
    createdAt: '2020-04-22T18:30:00.000Z',
    consents: [],
    demonstrates:
      'US state (VA) with health interests and a precise location but no sensitive-data opt-in: ordinary data visible for opt-out purposes, sensitive fields masked.',
    ticketTopic: 'health',
  },
  {
    externalId: 'CRM-UNKNOWN',
    firstName: 'Alex',
    lastName: 'Morgan',
    email: 'alex.morgan@example.net',
    country: null,
    region: null,
    place: '',
    birthDate: null,
    language: null,
    segment: 'new',
    healthInterests: [],
    preciseLocation: null,
    createdAt: '2026-07-19T22:03:00.000Z',
    consents: [],
    demonstrates: 'Country unknown: regime NONE, treated as the strictest; every opt-in purpose masked.',
    ticketTopic: 'account',
  },
];

/** The named demo personas, inserted before the generated customers with fixed external ids. */
export const DEMO_PERSONAS: readonly DemoPersona[] = PERSONA_SPECS.map(
  ({ externalId, firstName, lastName, email, country, region, demonstrates }) => ({
    externalId,
    firstName,
    lastName,
    email,
    country,
    region,
    demonstrates,
  }),
);
