import type { PurposeDefinition, Regime, Basis } from './types.ts';

// The purpose taxonomy is a reviewed file, not a table edited at run time:
// a purpose change is a legal decision that deserves a code review and a git
// history, and field tags are type-checked against these keys (a misspelt
// purpose does not compile). On start the taxonomy is synced into the
// `purpose` table, where the consent center and the ledger read it.

const everywhere = (basis: Basis): Record<Regime, Basis> => ({
  GDPR: basis,
  CCPA: basis,
  US_STATE: basis,
  NONE: basis,
});

/** Opt-in in the EU and where we do not know the law; opt-out in the US. */
const consentInEuOptOutInUs: Record<Regime, Basis> = {
  GDPR: 'OPT_IN',
  CCPA: 'OPT_OUT',
  US_STATE: 'OPT_OUT',
  NONE: 'OPT_IN',
};

/**
 * Special-category data beyond the contract: explicit consent under GDPR and
 * in the US states that require an opt-in for sensitive data (we apply it to
 * every US state but California, the stricter reading); California's "right
 * to limit" is an opt-out.
 */
const sensitiveBeyondContract: Record<Regime, Basis> = {
  GDPR: 'OPT_IN',
  CCPA: 'OPT_OUT',
  US_STATE: 'OPT_IN',
  NONE: 'OPT_IN',
};

export const PURPOSES = [
  {
    key: 'transactional',
    title: 'Running your orders and account',
    description: 'Processing orders, payments, deliveries and account notices. Needed to provide what you bought.',
    version: 1,
    basis: everywhere('CONTRACT'),
    sensitiveBasis: everywhere('CONTRACT'),
  },
  {
    key: 'support',
    title: 'Customer support',
    description: 'Answering your questions and tickets, including through our support chatbot, using your orders and conversations.',
    version: 1,
    basis: everywhere('CONTRACT'),
    sensitiveBasis: everywhere('CONTRACT'),
  },
  {
    key: 'marketing',
    title: 'Marketing messages',
    description: 'Sending you offers and newsletters by email or SMS.',
    version: 1,
    basis: consentInEuOptOutInUs,
    sensitiveBasis: sensitiveBeyondContract,
  },
  {
    key: 'analytics',
    title: 'Analytics',
    description: 'Measuring how our shop and campaigns perform, in aggregate.',
    version: 1,
    basis: consentInEuOptOutInUs,
    sensitiveBasis: sensitiveBeyondContract,
  },
  {
    key: 'personalization',
    title: 'Personalised recommendations',
    description: 'Using AI models to tailor recommendations and content to you.',
    version: 1,
    basis: consentInEuOptOutInUs,
    sensitiveBasis: sensitiveBeyondContract,
  },
  {
    key: 'ai_training',
    title: 'Training AI models',
    description: 'Using your data to train our AI models (for example churn prediction). Only with your explicit permission.',
    version: 1,
    basis: everywhere('OPT_IN'),
    sensitiveBasis: everywhere('OPT_IN'),
  },
  {
    key: 'ad_sharing',
    title: 'Sharing with advertising partners',
    description: 'Selling or sharing your data with partners for cross-context behavioural advertising.',
    version: 1,
    basis: consentInEuOptOutInUs,
    sensitiveBasis: sensitiveBeyondContract,
    minorsOptIn: ['CCPA'],
  },
  {
    key: 'consent_management',
    title: 'Keeping proof of your choices',
    description:
      'Recording the choices you make here, showing them to you and telling the systems that use your data when you change them. Required by law.',
    version: 1,
    basis: everywhere('CONTRACT'),
    sensitiveBasis: everywhere('CONTRACT'),
  },
] as const satisfies readonly PurposeDefinition[];

export type PurposeKey = (typeof PURPOSES)[number]['key'];

export const PURPOSE_KEYS: readonly PurposeKey[] = PURPOSES.map((p) => p.key);

const byKey = new Map<string, PurposeDefinition>(PURPOSES.map((p) => [p.key, p]));

export function findPurpose(key: string): PurposeDefinition | undefined {
  return byKey.get(key);
}

/** Purposes that take consent (grant/withdraw/opt-out) in at least one regime. */
export function takesConsent(purpose: PurposeDefinition): boolean {
  return Object.values(purpose.basis).some((b) => b === 'OPT_IN' || b === 'OPT_OUT');
}
