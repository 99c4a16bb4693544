import type { DeploymentMode, Regime } from './types.ts';

/** EU/EEA member states, the UK and Switzerland: GDPR (or its UK/Swiss twins). */
export const GDPR_COUNTRIES: readonly string[] = [
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  'IS',
  'LI',
  'NO',
  'GB',
  'CH',
];

const gdprCountries = new Set(GDPR_COUNTRIES);

/**
 * The regime that applies to a person, from where they live. A US resident
 * whose state we do not know, and anyone whose country we do not know, get
 * NONE, which the taxonomy treats as the strictest regime. In `strictest`
 * mode everyone is treated as GDPR.
 */
export function regimeOf(
  country: string | null | undefined,
  region: string | null | undefined,
  mode: DeploymentMode = 'per-jurisdiction',
): Regime {
  if (mode === 'strictest') return 'GDPR';
  const c = country?.trim().toUpperCase();
  if (!c) return 'NONE';
  if (gdprCountries.has(c)) return 'GDPR';
  if (c === 'US') {
    const r = region?.trim().toUpperCase();
    if (!r) return 'NONE';
    return r === 'CA' ? 'CCPA' : 'US_STATE';
  }
  return 'NONE';
}

/** Under 16 at `now`; an unknown birth date is not treated as a minor. */
export function isMinor(birthDate: Date | null | undefined, now: Date): boolean {
  if (!birthDate) return false;
  const sixteenth = new Date(birthDate);
  sixteenth.setUTCFullYear(sixteenth.getUTCFullYear() + 16);
  return sixteenth > now;
}
