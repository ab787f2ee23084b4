// Next.js configuration of the dashboard. The base path is fixed at build time (Next's rule), so
// server/build.ts rebuilds when Dashboard.BasePath changes. Type errors are reported by
// `pnpm typecheck` at the root, not here. Each base path builds into a folder of its own
// (.next, .next-dtx, ...), so switching between them does not rebuild every time.
import { resolve } from 'node:path';
import type { NextConfig } from 'next';

const basePath = process.env.DTX_WEB_BASE_PATH ?? '';

const config: NextConfig = {
  basePath: basePath || undefined,
  // set by server/build.ts and server/main.ts from server/dist-dir.ts
  distDir: process.env.DTX_WEB_DIST_DIR || '.next',
  env: { NEXT_PUBLIC_BASE_PATH: basePath },
  transpilePackages: ['@dtx/api'],
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
  devIndicators: false,
  outputFileTracingRoot: resolve(process.cwd(), '..', '..'),
  turbopack: { root: resolve(process.cwd(), '..', '..') },
};

export default config;
