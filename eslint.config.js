// Lint rules: typescript-eslint's recommended set, plus no `any` and no unused code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'scripts/reference/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: ['bin/**/*.js', 'scripts/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  // the studio's page code runs in the browser
  { files: ['src/web/static/**/*.js'], languageOptions: { globals: Object.fromEntries(['window', 'document', 'navigator', 'localStorage', 'location', 'fetch',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'TextDecoder', 'EventSource', 'ResizeObserver', 'URLSearchParams', 'AbortController',
    'addEventListener', 'removeEventListener', 'devicePixelRatio', 'console'].map((g) => [g, 'readonly'])) } },
);
