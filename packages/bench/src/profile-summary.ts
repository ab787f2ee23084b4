// Summarizes a V8 .cpuprofile (from `node --cpu-prof`) of the coordinator: where its CPU time
// went, by area (fastify, engine, SQL driver, undici, logging, GC, ...) and by function, optionally
// restricted to a time window (the harness passes its measured window, so start-up and module
// loading are left out).
//
//   pnpm --filter @dtx/bench profile-summary <file.cpuprofile> [--from <us>] [--to <us>] [--top 25]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  pct: number;
}

/** Another thread of the same process over the same window (the SQLite checkpoints' worker, say). */
export interface ThreadSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  /** Its largest areas by self time. */
  areas: Entry[];
}

export interface ProfileSummary {
  file: string;
  /** Wall time covered by the samples used, ms. */
  wallMs: number;
  /** Non-idle sampled time, ms. */
  busyMs: number;
  /** busy time by area (self time; builtins and native frames count for their caller's area). */
  areas: Entry[];
  /** Functions by self time. */
  self: Entry[];
  /** Our own functions (apps/, packages/) by inclusive time. */
  inclusive: Entry[];
  /** Selected landmarks by inclusive time: JSON, SQL driver calls, branch calls, logging. */
  landmarks: Entry[];
  /** Inclusive time of subsystems (rows overlap). */
  subsystems: Entry[];
  /** The process's other threads (one profile file each), busy time only. */
  threads?: ThreadSummary[];
}

const PKG_AREA: Record<string, string> = {
  fastify: 'fastify',
  'find-my-way': 'fastify',
  avvio: 'fastify',
  'light-my-request': 'fastify',
  'fast-json-stringify': 'fastify',
  'secure-json-parse': 'fastify',
  'abstract-logging': 'fastify',
  'process-warning': 'fastify',
  'fast-querystring': 'fastify',
  'toad-cache': 'fastify',
  'safe-regex2': 'fastify',
  'fast-decode-uri-component': 'fastify',
  ret: 'fastify',
  pg: 'pg driver',
  'pg-protocol': 'pg driver',
  'pg-pool': 'pg driver',
  'pg-types': 'pg driver',
  'pg-connection-string': 'pg driver',
  'postgres-date': 'pg driver',
  'postgres-array': 'pg driver',
  'postgres-bytea': 'pg driver',
  'postgres-interval': 'pg driver',
  pgpass: 'pg driver',
  mariadb: 'mariadb driver',
  denque: 'mariadb driver',
  'iconv-lite': 'mariadb driver',
  'lru-cache': 'mariadb driver',
  'better-sqlite3': 'better-sqlite3 (JS side)',
  undici: 'undici (branch calls)',
  pino: 'pino (logging)',
  'sonic-boom': 'pino (logging)',
  'thread-stream': 'pino (logging)',
  'fast-redact': 'pino (logging)',
  'quick-format-unescaped': 'pino (logging)',
  'on-exit-leak-free': 'pino (logging)',
  'atomic-sleep': 'pino (logging)',
  tsx: 'tsx loader',
  esbuild: 'tsx loader',
  'get-tsconfig': 'tsx loader',
};

function packageOf(url: string): string | null {
  const i = url.lastIndexOf('/node_modules/');
  if (i < 0) return null;
  const rest = url.slice(i + '/node_modules/'.length).split('/');
  const [scope = '', name = ''] = rest;
  return scope.startsWith('@') ? `${scope}/${name}` : scope;
}

/** The area of a frame, or null when it has no source of its own (builtins, native). */
export function areaOf(f: CallFrame): string | null {
  const fn = f.functionName;
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return '(program: native, unattributed)';
  if (fn === '(root)') return '(root)';
  const url = f.url;
  if (!url) return null;
  if (url.startsWith('wasm://')) return 'undici (branch calls)'; // undici's llhttp parser
  const pkg = packageOf(url);
  if (pkg) return PKG_AREA[pkg] ?? (pkg.startsWith('@fastify/') ? 'fastify' : pkg.startsWith('@prisma/') ? 'prisma' : `pkg ${pkg}`);
  if (url.includes('/packages/engine/src/')) return 'engine';
  if (url.includes('/packages/db/src/')) return 'db store (SQL building, row mapping)';
  if (url.includes('/packages/coordinator/src/')) return 'coordinator (transports, branch calls)';
  if (url.startsWith('node:')) {
    const m = url.slice(5);
    if (/_http_|internal\/http|^http$/.test(m)) return 'node http';
    if (/^net$|internal\/stream|^stream|internal\/net|tcp_wrap|internal\/streams/.test(m)) return 'node net/streams';
    if (/timers/.test(m)) return 'node timers';
    if (/async_hooks|internal\/process\/task_queues|promise/.test(m)) return 'node promises/tasks';
    if (/buffer|string_decoder|encoding|util/.test(m)) return 'node buffer/util';
    if (/crypto/.test(m)) return 'node crypto';
    if (/modules|loader|vm/.test(m)) return 'node module loading';
    return 'node other';
  }
  return 'other';
}

function frameName(f: CallFrame): string {
  const fn = f.functionName || '(anonymous)';
  if (!f.url) return `${fn} [builtin/native]`;
  const pkg = packageOf(f.url);
  const file = pkg ? `${pkg}/${basename(f.url)}` : f.url.startsWith('node:') ? f.url : basename(f.url);
  return f.lineNumber > 0 ? `${fn} ${file}:${f.lineNumber + 1}` : `${fn} ${file}`;
}

/**
 * Area of a sample's leaf frame when it says more than its source file: native work that V8
 * attributes to the JavaScript function that called into it.
 */
function leafArea(f: CallFrame): string | null {
  if (f.url.endsWith('/packages/db/src/drivers.ts') && /^(execRun|execQuery)$/.test(f.functionName)) {
    return 'SQLite engine (native, inside statement calls)';
  }
  if (f.url.includes('better-sqlite3') && f.functionName === 'exec') return 'SQLite engine (native, inside statement calls)';
  if (!f.url && /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString)$/.test(f.functionName)) {
    return 'socket writes (write syscalls, loopback TCP)';
  }
  return null;
}

/** Landmarks: inclusive time under functions whose name matches (first match wins per sample). */
const LANDMARKS: Array<[string, (f: CallFrame) => boolean]> = [
  ['JSON.parse', (f) => !f.url && f.functionName === 'parse'],
  ['JSON.stringify', (f) => !f.url && f.functionName === 'stringify'],
  ['pino write (logging)', (f) => /pino|sonic-boom/.test(f.url) && /write|LOG|info|warn|error/.test(f.functionName)],
];

/** Inclusive time of selected subsystems (a sample counts once per row). */
const SUBSYSTEMS: Array<[string, (f: CallFrame) => boolean]> = [
  ['HTTP server: node http + fastify (synchronous part only)', (f) => /node:_http_server|fastify\/lib\/route|fastify\/fastify/.test(f.url)],
  [
    'branch calls: undici request..response (incl. JSON of reply)',
    (f) => f.url.includes('/engine/src/calls/http.ts') && /^call(Http|JsonRpc)?$/.test(f.functionName),
  ],
  ['store calls (sql-store.ts frames on the stack, synchronous part)', (f) => f.url.includes('/packages/db/src/sql-store.ts')],
  [
    'SQL driver (pg/mariadb/better-sqlite3 JS + native)',
    (f) => /node_modules\/(pg|pg-protocol|pg-pool|mariadb|better-sqlite3)\//.test(f.url) || f.url.endsWith('/packages/db/src/drivers.ts'),
  ],
  [
    'attempt log (branch_attempt inserts)',
    (f) => f.url.includes('/engine/src/attempts.ts') || (f.url.includes('sql-store.ts') && f.functionName === 'insertAttempts'),
  ],
  ['request decode (JSON.parse + decode.ts)', (f) => f.url.includes('/packages/coordinator/src/http/decode.ts')],
  ['logging (pino)', (f) => /node_modules\/(pino|sonic-boom|thread-stream)\//.test(f.url)],
  ['AbortSignal.timeout (per branch call)', (f) => f.url === 'node:internal/abort_controller'],
  ['GC', (f) => f.functionName === '(garbage collector)'],
];

function pct(ms: number, of: number): number {
  return of > 0 ? Math.round((ms / of) * 1000) / 10 : 0;
}

export function summarize(file: string, opts: { fromUs?: number; toUs?: number; top?: number } = {}): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const top = opts.top ?? 25;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) byId.set(n.id, n);
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Weight of sample i: the time until the next sample.
  const n = prof.samples.length;
  const times = new Float64Array(n);
  let t = prof.startTime;
  for (let i = 0; i < n; i++) {
    t += prof.timeDeltas[i] ?? 0;
    times[i] = t;
  }
  const areaSelf = new Map<string, number>();
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const land = new Map<string, number>();
  const subs = new Map<string, number>();
  const areaCache = new Map<number, string>();
  const stackCache = new Map<number, number[]>();
  let wall = 0;
  let busy = 0;

  const stackOf = (id: number): number[] => {
    let s = stackCache.get(id);
    if (!s) {
      s = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) s.push(cur);
      stackCache.set(id, s);
    }
    return s;
  };
  const areaFor = (id: number): string => {
    let a = areaCache.get(id);
    if (a === undefined) {
      a = 'other';
      for (const nid of stackOf(id)) {
        const found = areaOf((byId.get(nid) as ProfileNode).callFrame);
        if (found) {
          a = found;
          break;
        }
      }
      areaCache.set(id, a);
    }
    return a;
  };

  for (let i = 0; i < n; i++) {
    const at = times[i] ?? 0;
    if (opts.fromUs !== undefined && at < opts.fromUs) continue;
    if (opts.toUs !== undefined && at > opts.toUs) continue;
    const w = ((i + 1 < n ? prof.timeDeltas[i + 1] : prof.timeDeltas[i]) ?? 0) / 1000;
    if (w <= 0) continue;
    wall += w;
    const id = prof.samples[i];
    if (id === undefined) continue;
    const node = byId.get(id) as ProfileNode;
    const area = leafArea(node.callFrame) ?? areaFor(id);
    if (area === 'idle') continue;
    busy += w;
    areaSelf.set(area, (areaSelf.get(area) ?? 0) + w);
    const sname = frameName(node.callFrame);
    self.set(sname, (self.get(sname) ?? 0) + w);
    const seen = new Set<string>();
    const subSeen = new Set<string>();
    let landed = false;
    for (const nid of stackOf(id)) {
      const f = (byId.get(nid) as ProfileNode).callFrame;
      if (f.url && (f.url.includes('/packages/') || f.url.includes('/apps/')) && !f.url.includes('/node_modules/')) {
        const name = frameName(f);
        if (!seen.has(name)) {
          seen.add(name);
          incl.set(name, (incl.get(name) ?? 0) + w);
        }
      }
      for (const [sname2, match] of SUBSYSTEMS) {
        if (!subSeen.has(sname2) && match(f)) {
          subSeen.add(sname2);
          subs.set(sname2, (subs.get(sname2) ?? 0) + w);
        }
      }
      if (!landed) {
        for (const [lname, match] of LANDMARKS) {
          if (match(f)) {
            land.set(lname, (land.get(lname) ?? 0) + w);
            landed = true;
            break;
          }
        }
      }
    }
  }
  const entries = (m: Map<string, number>, limit: number): Entry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: pct(ms, busy) }));
  return {
    file,
    wallMs: Math.round(wall),
    busyMs: Math.round(busy),
    areas: entries(areaSelf, 100),
    self: entries(self, top),
    inclusive: entries(incl, top),
    landmarks: entries(land, 20),
    subsystems: entries(subs, 20),
  };
}

export function printSummary(s: ProfileSummary, out: (line: string) => void = console.log): void {
  out(`profile ${s.file}`);
  out(`  window ${(s.wallMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s (${pct(s.busyMs, s.wallMs)}% of one core)`);
  const table = (title: string, rows: Entry[]) => {
    out(`  ${title}`);
    for (const r of rows) out(`    ${r.pct.toFixed(1).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}`);
  };
  table('busy time by area (self):', s.areas);
  table('top functions (self):', s.self);
  table('our functions (inclusive):', s.inclusive);
  table('landmarks (inclusive):', s.landmarks);
  table('subsystems (inclusive, overlapping):', s.subsystems);
  if (s.threads?.length) {
    out('  other threads:');
    for (const t of s.threads) {
      const areas = t.areas.map((a) => `${a.name} ${a.pct.toFixed(0)}%`).join(', ');
      out(`    busy ${(t.busyMs / 1000).toFixed(1)} s (${pct(t.busyMs, t.wallMs)}% of one core)  ${basename(t.file)}${areas ? `  ${areas}` : ''}`);
    }
  }
}

/** The other threads' profiles, summarized over the same window as the main thread's. */
export function summarizeThreads(files: string[], opts: { fromUs?: number; toUs?: number }): ThreadSummary[] {
  return files.map((file) => {
    const s = summarize(file, { ...opts, top: 0 });
    return { file, wallMs: s.wallMs, busyMs: s.busyMs, areas: s.areas.slice(0, 3) };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } },
  });
  for (const file of positionals) {
    printSummary(
      summarize(file, {
        fromUs: values.from ? Number(values.from) : undefined,
        toUs: values.to ? Number(values.to) : undefined,
        top: values.top ? Number(values.top) : undefined,
      }),
    );
  }
}
