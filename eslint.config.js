// @ts-check
// One ESLint run over the whole repository (`pnpm lint`); the rules live in tooling/eslint.
import { baseConfig } from '@dtx/eslint-config/base';
import { nextjsConfig } from '@dtx/eslint-config/nextjs';
import { reactConfig } from '@dtx/eslint-config/react';

const root = import.meta.dirname;
const web = ['apps/web/src/**/*.{ts,tsx}'];

export default [
  ...baseConfig({ tsconfigRootDir: root, tsconfigs: [`${root}/tsconfig.json`, `${root}/apps/web/tsconfig.json`] }),
  ...reactConfig(web),
  ...nextjsConfig('apps/web/', web),
];
