import type { CodegenConfig } from '@graphql-codegen/cli';

/** Shared by both targets: plain TS types, every scalar typed. */
const typesConfig = {
  useTypeImports: true,
  enumsAsTypes: true,
  strictScalars: true,
  scalars: { DateTime: 'string', JSON: 'unknown' },
};

/**
 * Typed documents, checked against the checked-in SDL (schema/schema.graphql,
 * written by `npm run schema:print`); generated, not committed — `npm run
 * codegen` recreates them (`npm test` and `npm install` run it).
 * - test/gql/: the GraphQL tests' operations (test/operations/**.graphql).
 * - dashboard/gql/: the dashboard's operations, as plain strings (documentMode
 *   string), so the browser bundle carries no GraphQL parser or printer.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  ignoreNoDocuments: false,
  // NodeNext resolution needs explicit extensions on the generated relative imports.
  importExtension: '.js',
  generates: {
    'test/gql/': {
      documents: ['test/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: typesConfig,
    },
    'dashboard/gql/': {
      documents: ['dashboard/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { ...typesConfig, documentMode: 'string' },
    },
  },
};

export default config;
