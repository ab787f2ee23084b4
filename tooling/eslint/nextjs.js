// @ts-check
// Next.js's rules (the core-web-vitals set) for the dashboard.
import nextPlugin from '@next/eslint-plugin-next';
import tseslint from 'typescript-eslint';

/**
 * @param {string} rootDir the Next.js app's folder, relative to the repository root
 * @param {string[]} files the globs of the app's code
 */
export function nextjsConfig(rootDir, files) {
  return tseslint.config({
    name: 'dtx/nextjs',
    files,
    extends: [nextPlugin.configs['core-web-vitals']],
    settings: { next: { rootDir } },
  });
}
