// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's type-checked recommended set over src/, test/, bench/ and migrations/.
 * Costs about as much CPU as `tsc --noEmit`, since it builds the same program: measured on this tree, ~35-40 s of
 * CPU against ~21-26 s for tsc and ~8 s for the untyped recommended set.
 */
export default tseslint.config(
  // Generated or written at run time, never edited by hand.
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      'data/',
      'test/gql/',
      'dashboard/gql/',
      'build/',
      'test-artifacts/',
      'bench/profiles/',
      'bench/out/',
      '.tmp-*/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Fastify hooks and handlers, Yoga plugin hooks, and interface methods are async by contract: Fastify
      // tells a promise-style hook from a callback-style one by its return value, so `async` without `await`
      // is the documented shape, not a mistake.
      '@typescript-eslint/require-await': 'off',
      // The code picks functions out of plain function tables (`const { date, bool } = this.encoding`) and
      // declares them with method shorthand; none of them reads `this`, so every report here is noise.
      '@typescript-eslint/unbound-method': 'off',
      // Library enums compared with their documented wire values (graphql's OperationTypeNode against
      // 'mutation', the MCP SDK's ErrorCode against a JSON-RPC error's numeric code).
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Forwarding a caught `unknown` (a timeout wrapper passing on the inner rejection) is not inventing a
      // non-Error reason; new rejections and throws must still be Errors.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      // `_name` is how the code says "deliberately unused" (e.g. a property left out by destructuring).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and the benchmark read JSON answers (`await res.json()` is `any`) and assert on their shape;
      // typing every body first would add casts that make no test stronger.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Thin doors onto services/ (STYLE.md): none reaches the ORM or the repositories itself.
    files: ['src/rest/**/*.ts', 'src/graphql/**/*.ts', 'src/mcp-server/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/db/**', '**/db'],
              message: 'the doors (rest/, graphql/, mcp-server/) go through services/, not db/ (STYLE.md: thin doors).',
            },
            { group: ['@mikro-orm/*'], message: 'the doors never touch the ORM (STYLE.md: thin doors).' },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
