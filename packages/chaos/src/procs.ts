// Child processes and small helpers shared by the harness's parts.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const chaosDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(chaosDir, '..', '..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A random duration in [lo, hi] seconds, in milliseconds. */
export const between = ([lo, hi]: [number, number]) => Math.round((lo + Math.random() * (hi - lo)) * 1000);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once `proc` has exited (at once if it already has). */
export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', () => r()));
}

/** Every process's parent and state letter (T: stopped), read once from /proc. */
function processTable(): Map<number, { ppid: number; state: string }> {
  const table = new Map<number, { ppid: number; state: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state = '', ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(name), { ppid: Number(ppid), state });
    } catch {
      // the process went away meanwhile
    }
  }
  return table;
}

/** PIDs of every descendant of `pid` in a processTable(), for freezing a whole server process tree. */
function descendants(table: Map<number, { ppid: number }>, pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [p, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), p]);
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  }
}

/** States of /proc/PID/stat that need no SIGSTOP: stopped, traced, zombie, dead, gone (not in the table). */
const STOPPED_OR_GONE = ['T', 't', 'Z', 'X', ''];

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * SIGSTOPs a server's whole process tree (a frozen host: connections hang instead of failing) and
 * returns the PIDs it stopped. The root first: stopped, it forks no more children (PostgreSQL's
 * postmaster, a backend per new connection). Then its descendants, listed only now (a child forked
 * while an earlier list was taken would go on serving), until every one is seen stopped.
 */
export function freezeTree(root: number): number[] {
  signal([root], 'SIGSTOP');
  const frozen = [root];
  for (let round = 0; round < 50; round++) {
    const table = processTable();
    const running = [root, ...descendants(table, root)].filter((p) => !STOPPED_OR_GONE.includes(table.get(p)?.state ?? ''));
    if (running.length === 0) return frozen;
    signal(running, 'SIGSTOP');
    frozen.push(...running.filter((p) => !frozen.includes(p)));
    sleepSync(10);
  }
  throw new Error(`could not freeze process ${root}'s tree: some of its processes do not stop`);
}

/** SIGCONTs what freezeTree stopped, and the tree of `root` as it is now. */
export function thawTree(frozen: number[], root: number | null): void {
  signal([...frozen, ...(root ? [root, ...descendants(processTable(), root)] : [])], 'SIGCONT');
}

/** Waits for a TCP port on 127.0.0.1 to accept connections. */
export async function waitHttp(url: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`process behind ${url} exited`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Starts the branch service in its own process; resolves once it listens. */
export async function startBranchProcess(script: object): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(chaosDir, 'src', 'branch-service.ts'), JSON.stringify(script)], {
    cwd: chaosDir,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { port: number }).port);
    });
    proc.once('exit', (code) => reject(new Error(`branch service exited with ${code}`)));
  });
  return { proc, port };
}
