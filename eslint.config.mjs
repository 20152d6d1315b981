// One linter for the whole repository: typescript-eslint's recommended rules, no `any` across modules.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.venv/**',
      'extension/lib/**',
      'extension/efflab_extension/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // gpu.js kernel bodies are written as `function (this: KernelThis, ...)` and read `this.thread`.
    files: ['src/ops/gl/**/*.ts'],
    rules: { '@typescript-eslint/no-this-alias': 'off' },
  },
  {
    // The ops layer is used through its index only: every op dispatches through the one registry there,
    // and the backend modules (gl/, js/, wasm/) and op internals stay private to src/ops.
    files: ['src/**/*.ts', 'kernel/src/**/*.ts'],
    ignores: ['src/ops/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/ops/*', '!**/ops/index'],
              message:
                'Import the ops layer through its index (e.g. `../ops` or `../../ops`), not a module inside it.',
            },
          ],
        },
      ],
    },
  },
);
