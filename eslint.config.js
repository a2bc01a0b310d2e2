import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'coverage/', '.serverless/', 'cdk.out/', '.esbuild/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules where the product code lives: floating promises, unsafe any, needless
    // assertions and the like are caught by types, not by review.
    files: ['lib/**/*.ts', 'functions/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Ports return promises; adapters that need no await (in memory, simulated, fixed loads)
      // stay async so that what they throw reaches callers as a rejection, as the real ones' does.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // CommonJS helpers the Serverless Framework loads with require() (deploy/*.cjs)
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
