// Vocabulary of the policy engine. Pure data: no GraphQL, no Prisma.

export const REGIMES = ['GDPR', 'CCPA', 'US_STATE', 'NONE'] as const;
export type Regime = (typeof REGIMES)[number];

export type DeploymentMode = 'per-jurisdiction' | 'strictest';

/**
 * How a purpose may use a subject's data under one regime:
 * - CONTRACT: needed for the contract (or another non-consent basis): always allowed.
 * - OPT_IN: allowed only with a valid grant for the purpose's current version.
 * - OPT_OUT: allowed until the subject withdraws or opts out.
 * - DENY: never allowed.
 */
export type Basis = 'CONTRACT' | 'OPT_IN' | 'OPT_OUT' | 'DENY';

export type ConsentAction = 'GRANT' | 'WITHDRAW' | 'OPT_OUT' | 'OPT_IN';

export const DATA_CATEGORIES = ['identifier', 'contact', 'demographic', 'financial', 'behavioural', 'inferred', 'sensitive'] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];

export interface PurposeDefinition {
  key: string;
  title: string;
  /** Plain language, shown to subjects in the consent center. */
  description: string;
  /** Bump on a material change: consents given for an earlier version stop counting. */
  version: number;
  /** Basis for ordinary personal data, per regime. */
  basis: Record<Regime, Basis>;
  /** Basis for special-category (sensitive) data, per regime; checked on top of `basis`. */
  sensitiveBasis: Record<Regime, Basis>;
  /** Regimes in which subjects under 16 need an opt-in instead of the regime's basis. */
  minorsOptIn?: readonly Regime[];
}

/** The latest consent record of one subject for one purpose, per regime and scope. */
export interface ConsentRecord {
  purposeKey: string;
  regime: Regime;
  /** Applies to the use of special-category (sensitive) data. */
  sensitive: boolean;
  action: ConsentAction;
  purposeVersion: number;
  expiresAt: Date | null;
}

export interface Subject {
  regime: Regime;
  /** Under 16 (CCPA's opt-in age for sale/sharing); unknown age counts as not a minor. */
  minor: boolean;
  consents: readonly ConsentRecord[];
}
