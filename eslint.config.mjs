// Flat config: typescript-eslint's recommended rules on everything, plus the architecture the
// design depends on: the layer table of docs/design.md (every import points down a layer), and
// workflow code that stays deterministic by importing nothing that does I/O.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// Node built-ins under both spellings ('fs' and 'node:fs'); Temporal's workflow sandbox has none.
const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

/**
 * docs/design.md's layer table: what each top-level part of src/ may import besides itself (keep
 * the two in step). A part imports only parts listed below it here, so no import runs back up.
 */
export const LAYERS = {
  domain: [],
  contract: ['domain'],
  config: [],
  temporal: ['config'],
  sql: ['contract', 'domain', 'config', 'temporal'],
  'worker-node': [],
  distributors: ['worker-node', 'sql', 'domain', 'config'],
  activities: ['distributors', 'sql', 'domain', 'config'],
  workflows: ['activities', 'domain', 'temporal'],
  worker: ['workflows', 'activities', 'sql', 'domain', 'config'],
  control: ['workflows', 'sql', 'contract', 'domain', 'temporal', 'config'],
  gui: ['config'],
  api: ['control', 'gui', 'sql', 'contract', 'domain', 'temporal', 'config'],
  stack: ['api', 'worker', 'distributors', 'sql', 'temporal', 'config'],
  client: ['stack', 'domain', 'config'],
  cli: ['client', 'stack', 'domain', 'config'],
};
const PARTS = Object.keys(LAYERS);
/**
 * Parts a part may take types from only (`import type`): a control script's client must not load
 * the server's schemas (zod, hono) at run time, only the contract's inferred types.
 */
const TYPE_ONLY = { client: ['contract'], cli: ['contract'] };

/**
 * `no-restricted-imports` patterns for a file `depth` folders below src/: the relative specifiers
 * that reach a part it may not import. Exact per depth, so a subfolder named like a part (e.g.
 * cli/workflow/) is never mistaken for it.
 */
function layerPatterns(part, depth) {
  const typeOnly = TYPE_ONLY[part] ?? [];
  const forbidden = PARTS.filter((other) => other !== part && !LAYERS[part].includes(other));
  const up = '\\.\\./'.repeat(depth);
  const message = `src/${part} may import only ${LAYERS[part].map((p) => `src/${p}`).join(', ') || 'Node built-ins and packages'} (docs/design.md, Layers).`;
  const pattern = (parts, allowTypeImports) =>
    parts.length ? [{ regex: `^${up}(${parts.join('|')})(/|$)`, allowTypeImports, message }] : [];
  return [
    ...pattern(
      forbidden.filter((p) => !typeOnly.includes(p)),
      false,
    ),
    ...pattern(typeOnly, true),
  ];
}

/** The deterministic-workflow rule's own restrictions, merged into the workflows part's layer rule. */
const workflowRestrictions = {
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
      regex: '^(\\.\\./)+activities(/|$)',
      // `import type { Activities } from '../activities'` is how proxyActivities is typed.
      allowTypeImports: true,
      message: 'Import activities as types only (`import type`), and call them via proxyActivities.',
    },
  ],
};

/** One config block per part and depth (src/<part>/*.ts is depth 1, src/<part>/x/*.ts depth 2, ...). */
const layerConfigs = PARTS.flatMap((part) =>
  [1, 2, 3, 4].map((depth) => {
    const extra = part === 'workflows' ? workflowRestrictions : { paths: [], patterns: [] };
    const files = part === 'config' ? ['src/config.ts'] : [`src/${part}/${'*/'.repeat(depth - 1)}*.ts`];
    return {
      files,
      rules: {
        '@typescript-eslint/no-restricted-imports': [
          'error',
          { paths: extra.paths, patterns: [...layerPatterns(part, depth), ...extra.patterns] },
        ],
      },
    };
  }),
).filter((c, i, all) => all.findIndex((o) => o.files[0] === c.files[0]) === i);

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
  ...layerConfigs,
  {
    // The GUI's static files run in the browser (served by the API, no build step).
    files: ['src/gui/static/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    // Functions a reader can hold (docs/design.md, "Function length"): 120 lines at most, blank
    // lines and comments not counted. Past ~80 a function says why above it.
    files: ['src/**/*.ts', 'src/**/*.js'],
    rules: {
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // A migration is the schema as it was on the day it shipped: it is read as one list of DDL,
    // and is never rewritten (deployed databases have run it), so no length limit applies.
    files: ['src/sql/migrations/*.ts'],
    rules: { 'max-lines-per-function': 'off' },
  },
  {
    // Tests poke at loosely typed JSON responses; `any` there is a reading aid, not an API.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
