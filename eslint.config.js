// Flat config: TypeScript-aware rules without type information (fast enough to run on every commit).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'cli/dist/', 'docs/api/', 'node_modules/', 'coverage/', '.tmp/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // domain/ is pure: no I/O modules.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:fs*',
            'node:child_process',
            'node:net',
            'node:http*',
            '../services/*',
            '../storage/*',
            '../pipeline/*',
            '../sources/*',
          ],
        },
      ],
    },
  },
  ...[
    // cli/src: two levels up is outside the CLI; cli/test/*/: three.
    { files: ['cli/src/**/*.ts'], up: 2 },
    { files: ['cli/test/**/*.ts'], up: 3 },
  ].map(({ files, up }) => ({
    // The CLI uses the library as any host does: by its package name and public entry points only,
    // never its sources or build output by path, nor a deep import past the package's exports.
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^odoo-backup-sdk/(?!(testing|postgres|bullmq|http|package\\.json)$)',
              message: 'Import the library by its public entry points (odoo-backup-sdk, odoo-backup-sdk/testing...).',
            },
            {
              regex: `^(\\.\\./){${up},}(src|dist)(/|$)`,
              message: "The CLI depends on the library's public entry points only: import from 'odoo-backup-sdk', not its files.",
            },
          ],
        },
      ],
    },
  })),
);
