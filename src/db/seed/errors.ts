/**
 * Thrown when the database already holds customers: a class of its own so that
 * scripts/db-seed.ts can tell a refusal from a failure and print the way out.
 */
export class SeedRefusedError extends Error {
  readonly code = 'SEED_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'SeedRefusedError';
  }
}
