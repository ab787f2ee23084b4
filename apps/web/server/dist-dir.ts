// Where `next build` puts the build for a base path: .next at the root, .next-dtx for /dtx.
export function distDirFor(basePath: string): string {
  return basePath ? `.next${basePath.replace(/[^A-Za-z0-9]+/g, '-')}` : '.next';
}
