// The fixed inputs of the demo data: the name every PRNG stream is seeded from
// and one reference date that every timestamp hangs off, so that no run depends
// on the clock.

/** "Now" for the demo data: every timestamp in the seed is relative to it. */
export const SEED_REFERENCE_DATE = new Date('2026-11-01T00:00:00.000Z');
export const DEFAULT_SEED_CUSTOMERS = 5000;
export const SEED_NAME = 'consentql-demo-v1';

export const NOW = SEED_REFERENCE_DATE.getTime();
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const YEAR = 365 * DAY;
