// ESLint (flat config) with typescript-eslint's recommended rules, run by `npm test` before jest. Unused variables
// named with a leading underscore are deliberate (destructuring a key away).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', 'coverage/**', '.tmp/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // plain CommonJS, and tests that read package.json with require()
    files: ['**/*.js', '**/*.cjs', 'bin/*', 'scripts/*', 'tests/**'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
