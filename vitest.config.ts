import { defineConfig } from 'vitest/config';

// Every TypeScript test in the repository. Store-dependent suites run once per store named in
// DTX_TEST_STORES (default: sqlite, postgres, mysql); scripts/test-all.mjs starts the databases.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'apps/web/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
    env: { NODE_ENV: 'test' },
  },
});
