// A throwaway PostgreSQL cluster of a test's own (its own port and data directory), for tests
// that stop and restart the database under a running coordinator.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freezeTree, thawTree } from '../../packages/chaos/src/procs.ts';
import { freePort } from './processes.ts';

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  for (const v of existsSync(root) ? readdirSync(root).sort().reverse() : []) {
    const p = join(root, v, 'bin', name);
    if (existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL's ${name} not found (apt-get install postgresql)`);
}

const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): void {
  if (asRoot) {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(q).join(' ')], { stdio: 'pipe' });
  } else {
    execFileSync(cmd, args, { stdio: 'pipe' });
  }
}

export class PrivatePostgres {
  readonly dir: string;
  port = 0;
  private frozen: number[] = [];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'dtx-pg-'));
    if (asRoot) {
      chmodSync(this.dir, 0o777);
      execFileSync('chown', ['postgres', this.dir]);
    }
  }

  async init(): Promise<this> {
    this.port = await freePort();
    run(pgBin('initdb'), ['-D', join(this.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
    this.start();
    return this;
  }

  start(): void {
    run(pgBin('pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'pg.log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`,
      'start',
    ]);
  }

  stop(): void {
    run(pgBin('pg_ctl'), ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  private postmaster(): number {
    return Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** SIGSTOP the whole server: connections hang instead of failing (a frozen host, a partition). */
  freeze(): void {
    this.frozen = freezeTree(this.postmaster());
  }

  thaw(): void {
    thawTree(this.frozen, this.postmaster());
    this.frozen = [];
  }

  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }
}
