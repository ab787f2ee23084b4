// The barrier's hazards, each forced, on pg, mysql2 and Prisma (PostgreSQL and MariaDB), with
// the resulting barrier rows and business rows read back from the database
// (docs/client/barrier.md "Algorithm").
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BranchBarrier,
  Duplicated,
  Failure,
  barrierDdlFile,
  cleanupBarriers,
  mysql2Db,
  pgDb,
  prismaDb,
  type BarrierDb,
  type SqlRunner,
} from '../src/index.ts';
import { businessDatabases, mysqlBusiness, pgBusiness, prismaOn, type MysqlBusiness, type PgBusiness } from './support.ts';

interface Target {
  db: BarrierDb<unknown>;
  table: string;
  /** Autocommit SQL on the same database, to set up and read rows. */
  sql: SqlRunner;
  close(): Promise<void>;
}

/** Each statement on its own pooled connection, autocommit. */
function autocommitSql(db: BarrierDb<unknown>): SqlRunner {
  return { exec: (s, p) => db.autocommit((r) => r.exec(s, p)), rows: (s, p) => db.autocommit((r) => r.rows(s, p)) };
}

const makers: Record<string, () => Promise<Target>> = {
  pg: async () => {
    const b: PgBusiness = await pgBusiness('bpg');
    const db = pgDb(b.pool) as BarrierDb<unknown>;
    return { db, table: 'dtm_barrier.barrier', sql: autocommitSql(db), close: () => b.close() };
  },
  mysql2: async () => {
    const b: MysqlBusiness = await mysqlBusiness('bmy');
    const db = mysql2Db(b.pool, { table: b.table }) as BarrierDb<unknown>;
    return { db, table: b.table, sql: autocommitSql(db), close: () => b.close() };
  },
  'prisma-postgres': async () => {
    const b = await pgBusiness('bpp');
    const prisma = await prismaOn('postgres', b.url);
    const db = prismaDb(prisma) as BarrierDb<unknown>;
    return {
      db,
      table: 'dtm_barrier.barrier',
      sql: autocommitSql(db),
      close: async () => {
        await prisma.$disconnect();
        await b.close();
      },
    };
  },
  'prisma-mysql': async () => {
    const b = await mysqlBusiness('bpm');
    const prisma = await prismaOn('mysql', b.url);
    const db = prismaDb(prisma, { table: b.table }) as BarrierDb<unknown>;
    return {
      db,
      table: b.table,
      sql: autocommitSql(db),
      close: async () => {
        await prisma.$disconnect();
        await b.close();
      },
    };
  },
};

describe.runIf(businessDatabases).each(Object.keys(makers))('barrier on %s', (kind) => {
  let t: Target;
  let n = 0;
  const gid = (label: string) => `bar-${label}-${++n}-${Date.now()}`;
  const q = (sql: string) => (t.db.dialect === 'postgres' ? sql.replace(/\?/g, (_, i: number) => `$${sql.slice(0, i).split('?').length}`) : sql);

  beforeAll(async () => {
    t = await (makers[kind] as () => Promise<Target>)();
    await t.sql.exec('create table busi_log (gid varchar(128), op varchar(45))', []);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A barrier call whose business code writes one busi_log row in the local transaction. */
  async function call(g: string, op: string, transType = 'saga', fail?: Error): Promise<boolean> {
    let ran = false;
    await new BranchBarrier(transType, g, '01', op).call(t.db, async (tx) => {
      ran = true;
      await runIn(tx, 'insert into busi_log (gid, op) values (?, ?)', [g, op]);
      if (fail) throw fail;
    });
    return ran;
  }
  /** Runs SQL on the local transaction handle of each driver (pg client, mysql2 connection, Prisma tx). */
  async function runIn(tx: unknown, sql: string, params: unknown[]): Promise<void> {
    const x = tx as { query?: (s: string, p: unknown[]) => Promise<unknown>; $executeRawUnsafe?: (s: string, ...p: unknown[]) => Promise<number> };
    if (x.$executeRawUnsafe) await x.$executeRawUnsafe(q(sql), ...params);
    else if (x.query) await x.query(q(sql), params);
  }
  async function barrierRows(g: string): Promise<string[]> {
    const rows = await t.sql.rows(q(`select trans_type, branch_id, op, barrier_id, reason from ${t.table} where gid = ? order by id`), [g]);
    return rows.map((r) => `${String(r.trans_type)} ${String(r.branch_id)} ${String(r.op)} ${String(r.barrier_id)} ${String(r.reason)}`);
  }
  async function busiRows(g: string): Promise<string[]> {
    const rows = await t.sql.rows(q('select op from busi_log where gid = ? order by op'), [g]);
    return rows.map((r) => String(r.op));
  }

  it('runs an action once when it is repeated (idempotency), then its compensation once', async () => {
    const g = gid('repeat');
    expect(await call(g, 'action')).toBe(true);
    expect(await call(g, 'action')).toBe(false);
    expect(await barrierRows(g)).toEqual(['saga 01 action 01 action']);
    expect(await call(g, 'compensate')).toBe(true);
    expect(await call(g, 'compensate')).toBe(false);
    expect(await barrierRows(g)).toEqual(['saga 01 action 01 action', 'saga 01 compensate 01 compensate']);
    expect(await busiRows(g)).toEqual(['action', 'compensate']);
  });

  it('skips a compensation whose action never ran (null compensation) and the late action (suspension)', async () => {
    const g = gid('null');
    expect(await call(g, 'compensate')).toBe(false);
    expect(await barrierRows(g)).toEqual(['saga 01 action 01 compensate', 'saga 01 compensate 01 compensate']);
    expect(await call(g, 'action')).toBe(false);
    expect(await barrierRows(g)).toEqual(['saga 01 action 01 compensate', 'saga 01 compensate 01 compensate']);
    expect(await busiRows(g)).toEqual([]);
  });

  it('TCC: cancel before try is a null compensation and the late try is refused', async () => {
    const g = gid('tcc');
    expect(await call(g, 'cancel', 'tcc')).toBe(false);
    expect(await call(g, 'try', 'tcc')).toBe(false);
    expect(await barrierRows(g)).toEqual(['tcc 01 try 01 cancel', 'tcc 01 cancel 01 cancel']);
    expect(await busiRows(g)).toEqual([]);
  });

  it('rolls the rows back with a failed action, so its compensation is a null compensation', async () => {
    const g = gid('fail');
    await expect(call(g, 'action', 'saga', new Failure('no money'))).rejects.toBeInstanceOf(Failure);
    expect(await barrierRows(g)).toEqual([]);
    expect(await busiRows(g)).toEqual([]);
    expect(await call(g, 'compensate')).toBe(false);
    expect(await barrierRows(g)).toEqual(['saga 01 action 01 compensate', 'saga 01 compensate 01 compensate']);
  });

  it('gives each local transaction of one request the next barrier id', async () => {
    const g = gid('ids');
    const bb = new BranchBarrier('saga', g, '01', 'action');
    await bb.call(t.db, () => Promise.resolve());
    await bb.call(t.db, () => Promise.resolve());
    expect(await barrierRows(g)).toEqual(['saga 01 action 01 action', 'saga 01 action 02 action']);
  });

  it('queryPrepared: SUCCESS after the local transaction committed', async () => {
    const g = gid('qp-ok');
    const bb = new BranchBarrier('msg', g, '00', 'msg');
    await bb.call(t.db, (tx) => runIn(tx, 'insert into busi_log (gid, op) values (?, ?)', [g, 'msg']));
    await expect(new BranchBarrier('msg', g, '00', 'msg').queryPrepared(t.db)).resolves.toBeUndefined();
    expect(await barrierRows(g)).toEqual(['msg 00 msg 01 msg']);
  });

  it('queryPrepared: FAILURE before the local transaction, which is then refused (DUPLICATED)', async () => {
    const g = gid('qp-first');
    await expect(new BranchBarrier('msg', g, '00', 'msg').queryPrepared(t.db)).rejects.toBeInstanceOf(Failure);
    expect(await barrierRows(g)).toEqual(['msg 00 msg 01 rollback']);
    const late = new BranchBarrier('msg', g, '00', 'msg').call(t.db, (tx) => runIn(tx, 'insert into busi_log (gid, op) values (?, ?)', [g, 'msg']));
    await expect(late).rejects.toBeInstanceOf(Duplicated);
    expect(await busiRows(g)).toEqual([]);
    expect(await barrierRows(g)).toEqual(['msg 00 msg 01 rollback']);
  });

  it('queryPrepared waits for a local transaction in flight and answers by its outcome', async () => {
    const g = gid('qp-race');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const local = new BranchBarrier('msg', g, '00', 'msg').call(t.db, async () => {
      entered();
      await gate;
      throw new Error('crash inside the local transaction');
    });
    await inside;
    const check = new BranchBarrier('msg', g, '00', 'msg').queryPrepared(t.db);
    const order: string[] = [];
    void check.catch(() => order.push('check'));
    await new Promise((r) => setTimeout(r, 300));
    order.push('released');
    release();
    await expect(local).rejects.toThrow('crash inside');
    await expect(check).rejects.toBeInstanceOf(Failure);
    expect(order).toEqual(['released', 'check']);
    expect(await barrierRows(g)).toEqual(['msg 00 msg 01 rollback']);
  });

  it('cleanupBarriers deletes rows older than N days only', async () => {
    const g = gid('old');
    await call(g, 'action');
    await call(`${g}-new`, 'action');
    const ago = t.db.dialect === 'mysql' ? 'date_sub(now(), interval 10 day)' : "now() - interval '10 days'";
    await t.sql.exec(q(`update ${t.table} set create_time = ${ago} where gid = ?`), [g]);
    const deleted = await cleanupBarriers(t.db, { olderThanDays: 7, batchSize: 1 });
    expect(deleted).toBe(1);
    expect(await barrierRows(g)).toEqual([]);
    expect(await barrierRows(`${g}-new`)).toEqual(['saga 01 action 01 action']);
  });
});

describe('barrier table DDL', () => {
  it('ships sql/<dialect>.sql equal to barrierDdl', () => {
    for (const d of ['postgres', 'mysql'] as const) {
      expect(readFileSync(new URL(`../sql/${d}.sql`, import.meta.url), 'utf8')).toBe(barrierDdlFile(d));
    }
  });

  it('refuses a table name that is not [schema.]table', () => {
    expect(() => new BranchBarrier('saga', 'g', '01', 'action', 'x; drop table y')).toThrow(/barrier table name/);
    expect(() => new BranchBarrier('saga', '', '01', 'action')).toThrow(/invalid trans info/);
  });
});
