import { defineConfig } from 'vitest/config';

// One database per test run (PGlite by default, or TEST_DATABASE_URL),
// migrated and seeded once in the global setup: PGlite takes seconds to start.
export default defineConfig({
  // graphql ships both ESM and CommonJS; the libraries load the CommonJS
  // build, so the tests must too, or graphql's instanceof checks fail.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    globalSetup: ['./test/support/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // PGlite is one session: test files take turns (see src/db/database.ts).
    // A real PostgreSQL serves two files at once.
    fileParallelism: Boolean(process.env.TEST_DATABASE_URL),
    maxWorkers: 2,
  },
});
