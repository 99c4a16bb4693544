// Global Privacy Control (the `Sec-GPC: 1` header) as a legal signal: where a
// law makes it a valid opt-out of the sale/sharing of personal data. Pure data,
// reviewed like the taxonomy: a new state law is a one-line change here.

/**
 * US states whose privacy laws require honouring a universal opt-out
 * mechanism such as GPC (California through the CCPA/CPRA regulations).
 */
export const UNIVERSAL_OPT_OUT_STATES: readonly string[] = ['CA', 'CO', 'CT', 'TX', 'OR', 'MT', 'NJ', 'DE', 'NH', 'MN', 'MD', 'NE'];

/** The purposes a GPC signal opts out of: selling or sharing for cross-context advertising. */
export const GPC_OPT_OUT_PURPOSES: readonly string[] = ['ad_sharing'];

const states = new Set(UNIVERSAL_OPT_OUT_STATES);

/**
 * Whether the law of the place a person lives makes a GPC signal an opt-out.
 * Decided on residence, not on the deployment's regime mode: a Californian
 * treated as GDPR in strictest mode still has the CCPA right.
 */
export function gpcIsLegalOptOut(country: string | null | undefined, region: string | null | undefined): boolean {
  return country?.trim().toUpperCase() === 'US' && states.has(region?.trim().toUpperCase() ?? '');
}
