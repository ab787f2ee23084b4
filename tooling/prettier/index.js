// @ts-check
// Options picked to match how the code was already written (single quotes, semicolons, trailing
// commas, long lines), so that adopting Prettier changes as few lines as possible. The width was
// measured: over the TypeScript, JavaScript, CSS and YAML files of the repository, 150 changes the
// fewest lines (about 310 in 69 files; 130 changes about 410 in 93, 120 about 590).

/** @type {import('prettier').Config} */
const config = {
  printWidth: 150,
  singleQuote: true,
  semi: true,
  trailingComma: 'all',
  arrowParens: 'always',
  bracketSpacing: true,
  endOfLine: 'lf',
};

export default config;
