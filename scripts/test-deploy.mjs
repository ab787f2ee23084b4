#!/usr/bin/env node
// `pnpm test:deploy`: renders the Helm chart (deploy/helm/dtx) with helm for the default values and
// for each ci/*-values.yaml, lints it, and validates every rendered manifest with kubeconform
// -strict. Both are Go programs run from the Go module proxy at pinned versions (the first run
// builds them, a minute or two; later runs use Go's build cache).
//
// kubeconform downloads its schemas from GitHub by default, which these machines cannot reach.
// Instead the schemas come from the OpenAPI document in the Kubernetes source module
// (k8s.io/kubernetes, api/openapi-spec/swagger.json), fetched by `go mod download` through the
// same module proxy, and are converted here into kubeconform's strict standalone form (one file
// per kind, references resolved inside the file, unknown fields refused).
// Without `go` on PATH the check is skipped (exit 0 with a notice).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HELM = 'helm.sh/helm/v3/cmd/helm@v3.22.0';
const KUBECONFORM = 'github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0';
const K8S = 'k8s.io/kubernetes@v1.33.0';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(ROOT, 'deploy', 'helm', 'dtx');
const WORK = join(ROOT, '.tmp', 'deploy');
// The kinds the chart renders; a new one fails validation until it is listed here.
const KINDS = ['Deployment', 'Service', 'ConfigMap', 'PodDisruptionBudget', 'Ingress', 'Secret', 'ServiceAccount'];

if (spawnSync('go', ['version']).error) {
  console.log('test:deploy skipped: no `go` on PATH');
  process.exit(0);
}

/**
 * A definition of the OpenAPI document (only the field read here; the rest is copied as it is).
 * @typedef {{
 *   'x-kubernetes-group-version-kind'?: { group: string, version: string, kind: string }[],
 *   [field: string]: unknown,
 * }} Definition
 */

/**
 * @param {string[]} args
 * @param {Omit<import('node:child_process').SpawnSyncOptions, 'encoding'>} [opts]
 */
function go(args, opts = {}) {
  const r = spawnSync('go', args, { encoding: 'utf8', cwd: WORK, maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** kubeconform-style strict schemas for KINDS from the Kubernetes OpenAPI v2 document. */
function schemas() {
  const dir = join(WORK, `schemas-${K8S.split('@')[1]}`);
  if (existsSync(join(dir, 'done'))) return dir;
  mkdirSync(dir, { recursive: true });
  /** @type {unknown} */
  const modJson = JSON.parse(go(['mod', 'download', '-json', K8S]));
  const mod = /** @type {{ Dir: string }} */ (modJson);
  /** @type {unknown} */
  const swagger = JSON.parse(readFileSync(join(mod.Dir, 'api', 'openapi-spec', 'swagger.json'), 'utf8'));
  const defs = /** @type {{ definitions: Record<string, Definition> }} */ (swagger).definitions;
  // int-or-string is a string with a format in OpenAPI v2; JSON Schema needs both types.
  defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  /** @type {(s: unknown) => unknown} */
  const strict = (s) => {
    if (Array.isArray(s)) return s.map(strict);
    if (!s || typeof s !== 'object') return s;
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [k, v] of Object.entries(s)) if (!k.startsWith('x-kubernetes-')) out[k] = strict(v);
    if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
    return out;
  };
  for (const def of Object.values(defs)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      if (!KINDS.includes(gvk.kind)) continue;
      /** @type {Set<string>} */
      const reach = new Set();
      /** @type {(s: unknown) => void} */
      const walk = (s) => {
        if (Array.isArray(s)) return s.forEach(walk);
        if (!s || typeof s !== 'object') return;
        if ('$ref' in s && typeof s.$ref === 'string') {
          const d = s.$ref.replace('#/definitions/', '');
          if (!reach.has(d)) {
            reach.add(d);
            walk(defs[d]);
          }
        }
        Object.values(s).forEach(walk);
      };
      walk(def);
      const definitions = Object.fromEntries([...reach].map((d) => [d, strict(defs[d])]));
      const suffix = `${gvk.group ? `-${gvk.group.split('.')[0]}` : ''}-${gvk.version}`;
      writeFileSync(join(dir, `${gvk.kind.toLowerCase()}${suffix}.json`), JSON.stringify({ .../** @type {object} */ (strict(def)), definitions }));
    }
  }
  writeFileSync(join(dir, 'done'), '');
  return dir;
}

mkdirSync(WORK, { recursive: true });
if (!existsSync(join(WORK, 'go.mod'))) writeFileSync(join(WORK, 'go.mod'), 'module dtxdeploy\n\ngo 1.22\n');
const schemaDir = schemas();
/** @type {[string, string[]][]} */
const sets = [
  ['default', []],
  ...readdirSync(join(CHART, 'ci'))
    .sort()
    .map((f) => /** @type {[string, string[]]} */ ([f.replace(/-values\.yaml$/, ''), ['-f', join(CHART, 'ci', f)]])),
];
let failed = false;
for (const [name, args] of sets) {
  go(['run', HELM, 'lint', '--strict', CHART, ...args]);
  const rendered = go(['run', HELM, 'template', 'dtx', CHART, ...args]);
  const file = join(WORK, `rendered-${name}.yaml`);
  writeFileSync(file, rendered);
  const r = spawnSync(
    'go',
    ['run', KUBECONFORM, '-strict', '-summary', '-schema-location', join(schemaDir, '{{ .ResourceKind }}{{ .KindSuffix }}.json'), file],
    { encoding: 'utf8', cwd: WORK },
  );
  console.log(`${name}: ${(r.stdout + r.stderr).trim()}`);
  // What the chart promises, beyond schema validity (docs/deploying.md, "Kubernetes").
  const expected = [
    'kind: Deployment',
    'kind: Service',
    'kind: ConfigMap',
    'kind: PodDisruptionBudget',
    'conf.yml: |',
    'path: /api/ping',
    'path: /api/health/ready',
    'secretKeyRef:',
    'name: STORE_PASSWORD',
    'name: DASHBOARD_SESSION_SECRET',
    `value: "${name === 'mysql' ? 'mysql' : 'postgres'}"`,
    // behind the chart's Ingress the dashboard believes one proxy's X-Forwarded-* (Dashboard.TrustProxy), else none
    ...(name === 'postgres'
      ? ['kind: Ingress', 'replicas: 3', 'name: DASHBOARD_TRUST_PROXY\n              value: "1"']
      : ['name: DASHBOARD_TRUST_PROXY\n              value: "0"']),
  ];
  for (const e of expected) {
    if (!rendered.includes(e)) {
      console.log(`${name}: the rendered chart lacks "${e}"`);
      failed = true;
    }
  }
  // kubeconform counts a kind without a schema as "skipped" only with -ignore-missing-schemas; without it, an error
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
