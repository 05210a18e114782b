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
  'test/services/tool-governance/pinning.test.ts',
  'test/db/no-async-local-storage.test.ts',
  'test/db/find-page.test.ts',
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
    // vitest's default (cores - 1) ran one file at a time on a 2-core machine, though the tests mostly
    // wait on sockets and child processes. Four workers, tried on a busy shared machine, broke the
    // timing bounds of the responsiveness tests (/health within 750 ms during a flood) and the 30 s
    // CLI spawns; two did not add such failures.
    maxWorkers: 2,
    // A worker keeps its loaded modules from one file to the next: importing the gateway's module
    // graph (Fastify, Yoga, Pothos, MikroORM, the MCP SDK) cost about 2 CPU-seconds per file. Test
    // files are still evaluated afresh; what they share is src/ and node_modules, which keep no
    // state between gateways (each gateway builds its own services, registry and caches).
    isolate: false,
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
