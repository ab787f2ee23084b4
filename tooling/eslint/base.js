// @ts-check
// The rules for every TypeScript and JavaScript file of the repository. Type-aware: each file is
// checked against the tsconfig.json that includes it (the project service finds it), so the rules
// that need types, such as no-floating-promises and no-misused-promises, see what a promise is.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Folders that hold generated, built or foreign code; never linted. */
export const ignores = [
  '**/node_modules/**',
  '**/dist/**',
  '**/.next/**',
  '**/.next-*/**',
  '**/test-results/**',
  '**/playwright-report/**',
  '**/.tmp/**',
  '**/data/**',
  'packages/db/generated/**',
  'apps/web/next-env.d.ts',
  'compat/**',
  'docs/**',
];

/**
 * Files outside every tsconfig.json (config files and plain-JavaScript scripts): the project
 * service gives them a default project with the base compiler options. The list is kept short
 * (each such file slows linting; typescript-eslint refuses more than maxDefaultProjectFiles).
 */
export const defaultProjectFiles = ['*.js', '*.ts', 'scripts/*.mjs', 'packages/db/scripts/*.mjs', 'packages/release/*.mjs', 'apps/web/*.mjs'];
/** typescript-eslint's default is 8; these globs match 9 files today. */
const maxDefaultProjectFiles = 12;

/**
 * @param {{ tsconfigRootDir: string, tsconfigs: string[] }} options the repository's root and
 *   the tsconfig.json files whose `paths` the import resolver must know (for `@/...` imports)
 */
export function baseConfig({ tsconfigRootDir, tsconfigs }) {
  return tseslint.config(
    { name: 'dtx/ignores', ignores },
    {
      name: 'dtx/base',
      files: ['**/*.{ts,tsx,mts,cts,js,mjs,cjs}'],
      extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
      plugins: { 'import-x': importX },
      languageOptions: {
        ecmaVersion: 2023,
        sourceType: 'module',
        globals: { ...globals.node },
        parserOptions: {
          projectService: {
            allowDefaultProject: defaultProjectFiles,
            maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: maxDefaultProjectFiles,
            defaultProject: 'tsconfig.base.json',
          },
          tsconfigRootDir,
        },
      },
      linterOptions: { reportUnusedDisableDirectives: 'error' },
      settings: {
        // import-x reads every imported module itself to follow the import graph: it needs the
        // TypeScript parser for .ts files and the TypeScript resolver for `paths` (`@/...`).
        'import-x/extensions': ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs'],
        'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx', '.mts', '.cts'] },
        'import-x/resolver-next': [createTypeScriptImportResolver({ project: tsconfigs, noWarnOnMultipleProjects: true })],
      },
      rules: {
        // The circular-import check: a cycle makes module initialisation order matter (a value
        // read before its module ran is undefined) and usually means two modules should be one.
        'import-x/no-cycle': ['error', { ignoreExternal: false }],
        // `_name` marks a parameter or binding that must exist but is not used.
        '@typescript-eslint/no-unused-vars': [
          'error',
          { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
        ],
        // A promise nobody awaits loses its rejection (an unhandled rejection ends the process):
        // fire-and-forget must be spelled `void p.catch(...)`.
        '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
        '@typescript-eslint/no-misused-promises': 'error',
      },
    },
  );
}
