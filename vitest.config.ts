import { defineConfig } from 'vitest/config';

/**
 * Test files that also run on PostgreSQL (the `postgresql` project): tenant isolation,
 * the audit trail, and several instances on one database. SQLite runs everything.
 */
const ON_BOTH_DIALECTS = [
  'test/rest/isolation.test.ts',
  'test/rest/connections.test.ts',
  'test/graphql/isolation.test.ts',
  'test/graphql/executions.test.ts',
  'test/services/connections.test.ts',
  'test/services/executions.test.ts',
  'test/graphql/scale-out.test.ts',
  'test/mcp-server/scale-out.test.ts',
  'test/graphql/failed-execution.test.ts',
  'test/db/dialect.test.ts',
];

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module). Vite would give our sources the ESM
    // build while externalized packages (Pothos, Yoga) get the CJS one under Node: two
    // graphql instances ("Cannot use GraphQLObjectType from another module or realm").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 90_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // `npm run test:coverage`: lines and branches of src/ exercised in the test processes (code that
    // runs only in spawned children — the CLI, `npm start`, the crash-test gateway — is not counted).
    coverage: { provider: 'v8', include: ['src/**/*.ts'], reporter: ['text-summary', 'json-summary'], reportsDirectory: 'coverage' },
    projects: [
      {
        extends: true,
        test: { name: 'sqlite', include: ['test/**/*.test.ts'], provide: { testDialect: 'sqlite' } },
      },
      {
        extends: true,
        test: { name: 'postgresql', include: ON_BOTH_DIALECTS, provide: { testDialect: 'postgresql' } },
      },
    ],
  },
});
