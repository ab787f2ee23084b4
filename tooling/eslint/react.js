// @ts-check
// React's own rules for the dashboard: the Rules of Hooks and the React Compiler's checks, as the
// React team's plugin recommends them.
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/** @param {string[]} files the globs of the React code */
export function reactConfig(files) {
  return tseslint.config({
    name: 'dtx/react',
    files,
    extends: [reactHooks.configs.flat.recommended],
  });
}
