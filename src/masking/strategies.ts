// The value-changing masks. Each takes the plaintext and returns a value that
// keeps only what the mask promises; input of an unexpected shape gives null,
// never the input.

export const REDACTED = '[REDACTED]';

/** `jane.doe@example.com` → `j***@example.com`; without a local part and `@`, like `partialText`. */
export function partialEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return partialText(value);
  return `${firstChar(value.slice(0, at))}***${value.slice(at)}`;
}

/** `+1 (555) 123-4567` → `***4567`; with four digits or fewer nothing is shown. */
export function partialPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  return digits.length > 4 ? `***${digits.slice(-4)}` : '***';
}

/** `Jane` → `J***`. */
export function partialText(value: string): string {
  return `${firstChar(value)}***`;
}

function firstChar(value: string): string {
  const code = value.codePointAt(0);
  return code === undefined ? '' : String.fromCodePoint(code);
}

const ISO_DATE = /^\s*([+-]?\d{4,6})-\d{2}/;

/**
 * The calendar year of a date: `1987-05-04` → `1987`. An ISO string keeps the
 * year as written (no time-zone shift); a Date gives its UTC year. Anything
 * else, a bare year included, is not a date and gives null.
 */
export function generalizeYear(value: unknown): string | null {
  if (value instanceof Date) {
    const year = value.getUTCFullYear();
    return Number.isNaN(year) ? null : String(year).padStart(4, '0');
  }
  if (typeof value !== 'string') return null;
  const match = ISO_DATE.exec(value);
  if (!match || Number.isNaN(Date.parse(value.trim()))) return null;
  return match[1];
}

/**
 * The first `length` characters, each removed character replaced by `*`:
 * `10115` → `10***`. At least one character is always hidden, so a value no
 * longer than `length` never comes out whole.
 */
export function generalizePrefix(value: string, length = 2): string {
  const chars = Array.from(value.trim());
  const keep = Math.max(0, Math.min(length, chars.length - 1));
  return chars.slice(0, keep).join('') + '*'.repeat(chars.length - keep);
}

const LAT_LON = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/;

/**
 * `52.5200,13.4050` → `52,13`: whole degrees, a cell of about 100 km.
 * Anything that is not a valid "lat,lon" pair gives null.
 */
export function generalizeRegion(value: string): string | null {
  const match = LAT_LON.exec(value);
  if (!match) return null;
  const lat = Number(match[1]);
  const lon = Number(match[2]);
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  // `+ 0` turns -0 into 0, so "-0.2,…" prints as "0,…".
  return `${Math.round(lat) + 0},${Math.round(lon) + 0}`;
}
