#!/usr/bin/env node
// Starts the external services the test suite needs (PostgreSQL, MariaDB, etcd) on ports of our
// own, from the Debian packages' binaries, and prints the environment that points tests at them.
//
//   node scripts/services.mjs start   # idempotent: reuses services that already answer
//   node scripts/services.mjs stop
//   node scripts/services.mjs env     # prints `export VAR=...` lines
//
// A service that is already reachable through DTX_TEST_PG_URL / DTX_TEST_MYSQL_URL /
// DTX_TEST_ETCD is used as is. Nothing here installs packages: .ci/run does that.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const base = process.env.DTX_SERVICES_DIR ?? '/tmp/dtx-services';
const ports = { pg: 55432, mysql: 53306, etcd: 52379, etcdPeer: 52380 };

export const serviceEnv = {
  DTX_TEST_PG_URL: process.env.DTX_TEST_PG_URL ?? `postgres://postgres@127.0.0.1:${ports.pg}/postgres`,
  DTX_TEST_MYSQL_URL: process.env.DTX_TEST_MYSQL_URL ?? `mysql://root:dtxroot@127.0.0.1:${ports.mysql}/mysql`,
  DTX_TEST_ETCD: process.env.DTX_TEST_ETCD ?? `127.0.0.1:${ports.etcd}`,
};

/** @param {number} port @param {string} [host] @returns {Promise<boolean>} */
function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = createConnection({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** @param {string} name @param {number} port @param {number} [seconds] */
async function waitPort(name, port, seconds = 60) {
  for (let i = 0; i < seconds * 10; i++) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not open port ${port} within ${seconds}s; see logs in ${base}`);
}

/** @param {string} bin @param {string[]} [extra] folders to look in before PATH */
function which(bin, extra = []) {
  for (const dir of [...extra, ...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/bin']) {
    const p = join(dir, bin);
    if (existsSync(p)) return p;
  }
  return null;
}

/** @param {string} name */
function pgBin(name) {
  const versions = existsSync('/usr/lib/postgresql') ? readdir('/usr/lib/postgresql') : [];
  return which(
    name,
    versions
      .sort()
      .reverse()
      .map((v) => `/usr/lib/postgresql/${v}/bin`),
  );
}

/** @param {string} p */
function readdir(p) {
  return spawnSync('ls', [p], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

const asRoot = process.getuid?.() === 0;

async function startPostgres() {
  if (process.env.DTX_TEST_PG_URL) return;
  if (await portOpen(ports.pg)) return;
  const initdb = pgBin('initdb');
  const pgCtl = pgBin('pg_ctl');
  if (!initdb || !pgCtl) throw new Error('PostgreSQL binaries not found (apt-get install postgresql)');
  const dir = join(base, 'pg');
  const data = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  /** @param {string} cmd @param {string[]} args */
  const runAs = (cmd, args) => {
    if (asRoot) {
      execFileSync('chown', ['-R', 'postgres', dir]);
      return execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shq).join(' ')], { stdio: 'pipe' });
    }
    return execFileSync(cmd, args, { stdio: 'pipe' });
  };
  if (!existsSync(join(data, 'PG_VERSION'))) {
    runAs(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  }
  runAs(pgCtl, [
    '-D',
    data,
    '-l',
    join(dir, 'pg.log'),
    '-w',
    '-o',
    `-p ${ports.pg} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on`,
    'start',
  ]);
  await waitPort('PostgreSQL', ports.pg);
}

async function startMariadb() {
  if (process.env.DTX_TEST_MYSQL_URL) return;
  if (await portOpen(ports.mysql)) return;
  const mariadbd = which('mariadbd') ?? which('mysqld');
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db');
  if (!mariadbd || !installDb) throw new Error('MariaDB binaries not found (apt-get install mariadb-server)');
  const dir = join(base, 'mysql');
  const data = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  const user = asRoot ? ['--user=root'] : [];
  if (!existsSync(join(data, 'mysql'))) {
    execFileSync(installDb, [`--datadir=${data}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'pipe' });
  }
  const child = spawn(
    mariadbd,
    [
      `--datadir=${data}`,
      `--port=${ports.mysql}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'mysql.sock')}`,
      `--pid-file=${join(dir, 'mysql.pid')}`,
      ...user,
      '--max-connections=500',
      '--skip-name-resolve',
      `--log-error=${join(dir, 'mysql.log')}`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  await waitPort('MariaDB', ports.mysql);
  // Give root a password usable over TCP (install-db leaves it socket/password-less).
  const client = which('mariadb') ?? which('mysql');
  for (let i = 0; i < 50; i++) {
    const r = spawnSync(
      client,
      [
        '-uroot',
        `--socket=${join(dir, 'mysql.sock')}`,
        '-e',
        "ALTER USER 'root'@'localhost' IDENTIFIED BY 'dtxroot'; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY 'dtxroot'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;",
      ],
      { encoding: 'utf8' },
    );
    if (r.status === 0) return;
    const r2 = spawnSync(client, ['-uroot', '-pdtxroot', '-h127.0.0.1', `-P${ports.mysql}`, '-e', 'SELECT 1'], { encoding: 'utf8' });
    if (r2.status === 0) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('could not set the MariaDB root password');
}

async function startEtcd() {
  if (process.env.DTX_TEST_ETCD) return;
  if (await portOpen(ports.etcd)) return;
  const etcd = which('etcd');
  if (!etcd) throw new Error('etcd not found (apt-get install etcd-server)');
  const dir = join(base, 'etcd');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    etcd,
    [
      '--data-dir',
      join(dir, 'data'),
      '--name',
      'dtx-test',
      '--listen-client-urls',
      `http://127.0.0.1:${ports.etcd}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${ports.etcd}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${ports.etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${ports.etcdPeer}`,
      '--initial-cluster',
      `dtx-test=http://127.0.0.1:${ports.etcdPeer}`,
    ],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch },
    },
  );
  child.unref();
  await waitPort('etcd', ports.etcd);
}

function stop() {
  const pgCtl = pgBin('pg_ctl');
  const data = join(base, 'pg', 'data');
  if (pgCtl && existsSync(data)) {
    const cmd = [pgCtl, '-D', data, '-m', 'fast', 'stop'];
    if (asRoot) spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd.map(shq).join(' ')], { stdio: 'ignore' });
    else spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  }
  const pidFile = join(base, 'mysql', 'mysql.pid');
  if (existsSync(pidFile)) spawnSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
  spawnSync('pkill', ['-f', `etcd --data-dir ${join(base, 'etcd', 'data')}`]);
}

/** @param {unknown} s */
function shq(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** @param {string[]} [which] any of 'pg', 'mysql', 'etcd' */
export async function startServices(which = ['pg', 'mysql', 'etcd']) {
  const tasks = [];
  if (which.includes('pg')) tasks.push(startPostgres());
  if (which.includes('mysql')) tasks.push(startMariadb());
  if (which.includes('etcd')) tasks.push(startEtcd());
  await Promise.all(tasks);
  return serviceEnv;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2] ?? 'start';
  if (cmd === 'start') {
    await startServices();
    for (const [k, v] of Object.entries(serviceEnv)) console.log(`export ${k}=${v}`);
  } else if (cmd === 'stop') {
    stop();
  } else if (cmd === 'env') {
    for (const [k, v] of Object.entries(serviceEnv)) console.log(`export ${k}=${v}`);
  } else if (cmd === 'reset') {
    stop();
    rmSync(base, { recursive: true, force: true });
  } else {
    console.error('usage: services.mjs start|stop|env|reset');
    process.exit(2);
  }
}
