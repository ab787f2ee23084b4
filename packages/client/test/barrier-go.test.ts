// One barrier table, two SDKs: dtm's Go SDK (compat/barrier, dtmcli's CallWithDB) and this
// package interleaved on the same MariaDB rows. Each side must see what the other wrote: a
// Go compensation after a TypeScript action runs, a TypeScript action after a Go null
// compensation is refused, a TypeScript retry of a Go action is skipped (docs/client/barrier.md).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchBarrier, mysql2Db, type BarrierDb, type Mysql2Connection } from '../src/index.ts';
import { businessDatabases, mysqlBusiness, type MysqlBusiness } from './support.ts';

const compat = fileURLToPath(new URL('../../../compat/barrier', import.meta.url));

describe.runIf(businessDatabases)('barrier shared with the Go SDK on MariaDB', () => {
  let b: MysqlBusiness;
  let db: BarrierDb<Mysql2Connection>;
  let binary = '';
  let n = 0;
  const gid = (label: string) => `shared-${label}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    binary = join(mkdtempSync(join(tmpdir(), 'dtx-barrier-go-')), 'barrier');
    execFileSync('go', ['build', '-o', binary, '.'], { cwd: compat, stdio: 'pipe' });
    b = await mysqlBusiness('shared');
    db = mysql2Db(b.pool, { table: b.table });
    await b.pool.query('create table busi_log (gid varchar(128), op varchar(45))');
  }, 300_000);
  afterAll(async () => {
    await b?.close();
  });

  function goCall(g: string, op: string, trans = 'saga'): string {
    const u = new URL(b.url);
    const dsn = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}@tcp(${u.host})/${b.db}`;
    return execFileSync(binary, ['-dsn', dsn, '-table', b.table, '-trans', trans, '-gid', g, '-branch', '01', '-op', op], {
      encoding: 'utf8',
    }).trim();
  }
  async function tsCall(g: string, op: string, trans = 'saga'): Promise<string> {
    let ran = false;
    await new BranchBarrier(trans, g, '01', op).call(db, async (c) => {
      ran = true;
      await c.query('insert into busi_log (gid, op) values (?, ?)', [g, op]);
    });
    return ran ? 'ran' : 'skipped';
  }
  async function rows(g: string): Promise<unknown> {
    const [r] = await b.pool.query(`select trans_type, branch_id, op, barrier_id, reason from ${b.table} where gid = ? order by id`, [g]);
    return r;
  }
  async function busi(g: string): Promise<string[]> {
    const [r] = await b.pool.query('select op from busi_log where gid = ? order by op', [g]);
    return (r as { op: string }[]).map((x) => x.op);
  }

  it('a Go compensation after a TypeScript action runs; the Go retry is skipped', async () => {
    const g = gid('ts-then-go');
    expect(await tsCall(g, 'action')).toBe('ran');
    expect(goCall(g, 'compensate')).toBe('ran');
    expect(goCall(g, 'compensate')).toBe('skipped');
    expect(await rows(g)).toEqual([
      { trans_type: 'saga', branch_id: '01', op: 'action', barrier_id: '01', reason: 'action' },
      { trans_type: 'saga', branch_id: '01', op: 'compensate', barrier_id: '01', reason: 'compensate' },
    ]);
    expect(await busi(g)).toEqual(['action', 'compensate']);
  });

  it('a TypeScript action after a Go null compensation is refused, with the rows Go wrote', async () => {
    const g = gid('go-null');
    expect(goCall(g, 'compensate')).toBe('skipped');
    expect(await tsCall(g, 'action')).toBe('skipped');
    expect(await rows(g)).toEqual([
      { trans_type: 'saga', branch_id: '01', op: 'action', barrier_id: '01', reason: 'compensate' },
      { trans_type: 'saga', branch_id: '01', op: 'compensate', barrier_id: '01', reason: 'compensate' },
    ]);
    expect(await busi(g)).toEqual([]);
  });

  it('TCC: a TypeScript cancel after a Go try runs; a Go try after a TypeScript null cancel is refused', async () => {
    const g1 = gid('tcc-go-try');
    expect(goCall(g1, 'try', 'tcc')).toBe('ran');
    expect(await tsCall(g1, 'try', 'tcc')).toBe('skipped');
    expect(await tsCall(g1, 'cancel', 'tcc')).toBe('ran');
    expect(await busi(g1)).toEqual(['cancel', 'try']);
    const g2 = gid('tcc-ts-null');
    expect(await tsCall(g2, 'cancel', 'tcc')).toBe('skipped');
    expect(goCall(g2, 'try', 'tcc')).toBe('skipped');
    expect(await busi(g2)).toEqual([]);
  });
});
