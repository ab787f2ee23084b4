// Database servers of the harness's own: a PostgreSQL cluster or a MariaDB server started from
// the Debian packages' binaries (the way scripts/services.mjs starts the test databases), but on
// a free port and in a temporary directory of this run, so that the fault drivers can stop,
// restart or freeze (SIGSTOP) it without disturbing the shared test databases. SQLite is a file
// in the same directory: there is no server to fault.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited, freePort, freezeTree, signal, sleep, thawTree } from './procs.ts';

export type StoreName = 'sqlite' | 'postgres' | 'mysql';

/** What a coordinator needs: the STORE_* environment variables. */
export type StoreEnv = Record<string, string>;

export interface DbServer {
  readonly name: StoreName;
  readonly env: StoreEnv;
  /** Stops the server (clean shutdown). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT of the whole server process tree: connections hang instead of failing. */
  freeze(): void;
  thaw(): void;
  /** Stops it for good (thawing it first). */
  destroy(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function which(bin: string, dirs: string[] = []): string {
  for (const d of [...dirs, ...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    const p = join(d, bin);
    if (existsSync(p)) return p;
  }
  throw new Error(`${bin} not found (apt-get install postgresql mariadb-server)`);
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const dirs = existsSync(root)
    ? readdirSync(root)
        .sort()
        .reverse()
        .map((v) => join(root, v, 'bin'))
    : [];
  return which(name, dirs);
}

/** Runs a PostgreSQL tool, as the postgres user when we are root (initdb refuses root). */
function pgRun(cmd: string, args: string[]): void {
  if (asRoot) execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shq).join(' ')], { stdio: 'pipe' });
  else execFileSync(cmd, args, { stdio: 'pipe' });
}

/**
 * A synchronous step as the asynchronous DbServer interface wants it (MariaDB's start and stop
 * poll; PostgreSQL's pg_ctl -w waits itself): what it throws reaches the caller as a rejection.
 */
function asPromise(step: () => void): Promise<void> {
  return new Promise((resolve) => {
    step();
    resolve();
  });
}

class Sqlite implements DbServer {
  readonly name = 'sqlite' as const;
  readonly env: StoreEnv;
  constructor(dir: string) {
    this.env = { STORE_DRIVER: 'sqlite', STORE_DB: join(dir, 'chaos.sqlite') };
  }
  async stop() {}
  async start() {}
  freeze() {}
  thaw() {}
  async destroy() {}
}

class Postgres implements DbServer {
  readonly name = 'postgres' as const;
  env: StoreEnv = {};
  private readonly data: string;
  private frozen: number[] = [];

  constructor(
    private readonly dir: string,
    private port = 0,
  ) {
    this.data = join(dir, 'pgdata');
  }

  async init(): Promise<this> {
    this.port = await freePort();
    if (asRoot) {
      chmodSync(this.dir, 0o777);
      execFileSync('chown', ['postgres', this.dir]);
    }
    pgRun(pgBin('initdb'), ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
    await this.start();
    this.env = {
      STORE_DRIVER: 'postgres',
      STORE_HOST: '127.0.0.1',
      STORE_PORT: String(this.port),
      STORE_USER: 'postgres',
      STORE_PASSWORD: '',
      STORE_DB: 'dtx_chaos',
    };
    return this;
  }

  start(): Promise<void> {
    return asPromise(() =>
      pgRun(pgBin('pg_ctl'), [
        '-D',
        this.data,
        '-l',
        join(this.dir, 'pg.log'),
        '-w',
        '-o',
        `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
        'start',
      ]),
    );
  }

  stop(): Promise<void> {
    return asPromise(() => pgRun(pgBin('pg_ctl'), ['-D', this.data, '-m', 'fast', '-w', 'stop']));
  }

  private postmaster(): number | null {
    const f = join(this.data, 'postmaster.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').split('\n')[0]) : null;
  }

  freeze() {
    const pm = this.postmaster();
    if (pm) this.frozen = freezeTree(pm);
  }

  thaw() {
    thawTree(this.frozen, this.postmaster());
    this.frozen = [];
  }

  destroy(): Promise<void> {
    return asPromise(() => {
      this.thaw();
      const pm = this.postmaster();
      try {
        pgRun(pgBin('pg_ctl'), ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        if (pm) signal([pm], 'SIGKILL');
      }
    });
  }
}

class Mariadb implements DbServer {
  readonly name = 'mysql' as const;
  env: StoreEnv = {};
  private proc: ChildProcess | null = null;
  private port = 0;
  private readonly data: string;
  private readonly sock: string;

  constructor(private readonly dir: string) {
    this.data = join(dir, 'mydata');
    this.sock = join(dir, 'mysql.sock');
  }

  async init(): Promise<this> {
    this.port = await freePort();
    mkdirSync(this.data, { recursive: true });
    execFileSync(
      which('mariadb-install-db'),
      [`--datadir=${this.data}`, ...(asRoot ? ['--user=root'] : []), '--auth-root-authentication-method=normal', '--skip-test-db'],
      { stdio: 'pipe' },
    );
    await this.start();
    // install-db leaves root password-less and socket-only; the coordinator comes over TCP.
    const r = spawnSync(
      which('mariadb'),
      [
        '-uroot',
        `--socket=${this.sock}`,
        '-e',
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'chaos'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;",
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`could not set up MariaDB's root user: ${r.stderr}`);
    this.env = {
      STORE_DRIVER: 'mysql',
      STORE_HOST: '127.0.0.1',
      STORE_PORT: String(this.port),
      STORE_USER: 'root',
      STORE_PASSWORD: 'chaos',
      STORE_DB: 'dtx_chaos',
    };
    return this;
  }

  async start() {
    const proc = spawn(
      which('mariadbd'),
      [
        `--datadir=${this.data}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${this.sock}`,
        `--pid-file=${join(this.dir, 'mysql.pid')}`,
        ...(asRoot ? ['--user=root'] : []),
        '--max-connections=500',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=64M',
        `--log-error=${join(this.dir, 'mysql.log')}`,
      ],
      { stdio: 'ignore' },
    );
    this.proc = proc;
    const deadline = Date.now() + 60_000;
    while (
      !existsSync(this.sock) ||
      spawnSync(which('mariadb-admin'), ['-uroot', `--socket=${this.sock}`, 'ping'], { stdio: 'ignore' }).status !== 0
    ) {
      if (proc.exitCode !== null) throw new Error(`mariadbd exited with ${proc.exitCode}; see ${join(this.dir, 'mysql.log')}`);
      if (Date.now() > deadline) throw new Error('MariaDB did not start within 60 s');
      await sleep(200);
    }
  }

  async stop() {
    const p = this.proc;
    if (!p) return;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    await exited(p);
    clearTimeout(t);
    this.proc = null;
  }

  freeze() {
    if (this.proc?.pid) signal([this.proc.pid], 'SIGSTOP');
  }

  thaw() {
    if (this.proc?.pid) signal([this.proc.pid], 'SIGCONT');
  }

  async destroy() {
    this.thaw();
    const p = this.proc;
    if (!p) return;
    p.kill('SIGKILL');
    await exited(p);
    this.proc = null;
  }
}

export async function startDb(name: StoreName, dir: string): Promise<DbServer> {
  if (name === 'sqlite') return new Sqlite(dir);
  if (name === 'postgres') return new Postgres(dir).init();
  return new Mariadb(dir).init();
}
