import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the GraphQL tests (and a template for clients):
 * operations in test/operations/**.graphql, checked against the checked-in
 * SDL (schema/schema.graphql, written by `npm run schema:print`), generated
 * into test/gql/ — not committed; `npm run codegen` recreates it.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  // NodeNext resolution needs explicit extensions on the generated relative imports.
  importExtension: '.js',
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
