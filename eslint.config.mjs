// Flat config: typescript-eslint's recommended rules on everything, plus the one architectural rule
// the design depends on — workflow code stays deterministic by importing nothing that does I/O.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Node built-ins under both spellings ('fs' and 'node:fs'); Temporal's workflow sandbox has none.
const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      '.venv/',
      '.jmt/',
      'coverage/',
      'test-results/',
      'bench/results/',
      '**/.venv/',
      '**/__pycache__/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain .js/.mjs files (configs, scripts) run on Node; TS files get no-undef off from tseslint.
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
    rules: {
      // `_`-prefixed names mark deliberately unused parameters (interface conformance, callbacks).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...['pg', 'kysely', 'hono', ...nodeBuiltins].map((name) => ({
              name,
              message: 'Workflow code must be deterministic: no I/O, no Node built-ins.',
            })),
          ],
          patterns: [
            {
              group: ['node:*', 'pg/*', 'kysely/*', 'hono/*', '@hono/*'],
              message: 'Workflow code must be deterministic: no I/O, no Node built-ins.',
            },
            {
              // Any depth of '../' so nested workflow folders are covered too.
              regex: '^(\\.\\./)+(sql|api|distributors)(/|$)',
              message: 'Workflow code reaches the database, API and distributors only through activities.',
            },
            {
              regex: '^(\\.\\./)+activities(/|$)',
              // `import type { Activities } from '../activities'` is how proxyActivities is typed.
              allowTypeImports: true,
              message: 'Import activities as types only (`import type`), and call them via proxyActivities.',
            },
          ],
        },
      ],
    },
  },
  {
    // The GUI's static files run in the browser (served by the API, no build step).
    files: ['src/gui/static/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    // Tests poke at loosely typed JSON responses; `any` there is a reading aid, not an API.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
