// CPU accounting from /proc (Linux): CPU seconds of a process (all its threads) and of its
// descendants, machine-wide busy time, and which process listens on a TCP port. Used to report
// how the machine's cores were split between load generator, branch service, coordinator and
// database during the measured window.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS = 100; // USER_HZ; 100 on every Linux distribution we run on

function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest; // rest[0] is field 3 (state)
  } catch {
    return null;
  }
}

/** User + system CPU seconds of one process (all threads; not its children). */
export function processCpu(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  // fields 14 (utime) and 15 (stime), 1-based; rest[0] is field 3
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

function parentOf(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[1]) : -1;
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** The process and all of its living descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const ppid = parentOf(pid);
    if (ppid < 0) continue;
    let list = children.get(ppid);
    if (!list) children.set(ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * CPU seconds per pid of a process tree. Processes come and go (PostgreSQL forks a backend per
 * connection), so a group is measured as a map and compared pid by pid.
 */
export function treeCpu(root: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of processTree(root)) m.set(pid, processCpu(pid));
  return m;
}

/** CPU seconds used between two samples of a tree (new processes count from zero). */
export function treeDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, t] of after) total += t - (before.get(pid) ?? 0);
  return total;
}

/** Machine-wide busy and total CPU seconds (all cores) since boot. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICKS, total: total / TICKS };
}

/** The pid of the process listening on a local TCP port, or null (needs permission to read fds). */
export function pidListeningOn(port: number): number | null {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const [, local = '', , state, , , , , , inode = ''] = cols;
      if (state === '0A' && local.endsWith(`:${hex}`)) inodes.add(inode);
    }
  }
  if (inodes.size === 0) return null;
  // A child may hold the listening socket for a moment after fork (PostgreSQL backends before
  // they close it): of all holders, return the one whose parent does not hold it.
  const holders: number[] = [];
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m && inodes.has(m[1] ?? '')) {
          holders.push(pid);
          break;
        }
      } catch {
        // fd closed meanwhile
      }
    }
  }
  const set = new Set(holders);
  return holders.find((pid) => !set.has(parentOf(pid))) ?? holders[0] ?? null;
}

export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
