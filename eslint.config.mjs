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
    files: ['src/ops/kernels/**/*.ts'],
    rules: { '@typescript-eslint/no-this-alias': 'off' },
  },
);
