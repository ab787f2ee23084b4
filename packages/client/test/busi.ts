// dtm's quick-start business, written once for every client test: the accounts (`user_account`
// on the TransOut side in PostgreSQL, on the TransIn side in MariaDB) and each step of a transfer
// (saga action / compensation, TCC try / confirm / cancel) as the SQL it runs on the connection
// of a local transaction. The framework adapters (services.ts for Express and Fastify,
// nest.test.ts, grpc-branches.test.ts, workflow.test.ts, xa.test.ts) only read a Transfer from
// their request and run a step under the request's barrier (or inside an XA transaction), so
// every transport is tested against the same business rules.
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { Failure, Ongoing, type BarrierDb, type BranchBarrier, type BranchRequest, type Mysql2Connection, type PgQueryable } from '../src/index.ts';

export interface Transfer {
  user: number;
  amount: number;
  /** TransIn, TransInTry and TransOutTry answer FAILURE, after their write (the barrier's rollback must undo it). */
  fail?: boolean;
  /** TransIn and TransInTry answer ONGOING. */
  ongoing?: boolean;
}

type Step<C> = (c: C, t: Transfer) => Promise<string | undefined>;

/** A step that is one update, with (amount, user) or other parameters taken from the transfer. */
function update(
  sql: string,
  params = (t: Transfer): unknown[] => [t.amount, t.user],
): Step<{ query(sql: string, values: unknown[]): Promise<unknown> }> {
  return async (c, t) => {
    await c.query(sql, params(t));
    return undefined;
  };
}

/** The TransOut side's steps, on a pg connection. */
export const outSteps = {
  TransOut: async (c, t) => {
    const r = await c.query('update user_account set balance = balance - $1 where user_id = $2 and balance >= $1', [t.amount, t.user]);
    if (r.rowCount === 0) throw new Failure(`user ${t.user}: insufficient balance`);
    return undefined;
  },
  TransOutRevert: update('update user_account set balance = balance + $1 where user_id = $2'),
  /** Reserves the amount (neither spendable nor moved yet); answers what it reserved. */
  TransOutTry: async (c, t) => {
    const sql = 'update user_account set trading_balance = trading_balance - $1 where user_id = $2 and balance + trading_balance >= $1';
    const r = await c.query(sql, [t.amount, t.user]);
    if (r.rowCount === 0) throw new Failure(`user ${t.user}: insufficient balance`);
    if (t.fail) throw new Failure(`TransOutTry refused for user ${t.user}`);
    return `reserved ${t.amount} for user ${t.user}`;
  },
  TransOutConfirm: update('update user_account set balance = balance - $1, trading_balance = trading_balance + $1 where user_id = $2'),
  TransOutCancel: update('update user_account set trading_balance = trading_balance + $1 where user_id = $2'),
} satisfies Record<string, Step<PgQueryable>>;

/** A TransIn step that can be told to answer ONGOING (before its write) or FAILURE (after it). */
function failable(sql: string): Step<Mysql2Connection> {
  const write = update(sql);
  return async (c, t) => {
    if (t.ongoing) throw new Ongoing('not yet');
    await write(c, t);
    if (t.fail) throw new Failure(`TransIn refused for user ${t.user}`);
    return undefined;
  };
}

/** The TransIn side's steps, on a mysql2 connection. */
export const inSteps = {
  TransIn: failable('update user_account set balance = balance + ? where user_id = ?'),
  TransInRevert: update('update user_account set balance = balance - ? where user_id = ?'),
  TransInTry: failable('update user_account set trading_balance = trading_balance + ? where user_id = ?'),
  TransInConfirm: update('update user_account set balance = balance + ?, trading_balance = trading_balance - ? where user_id = ?', (t) => [
    t.amount,
    t.amount,
    t.user,
  ]),
  TransInCancel: update('update user_account set trading_balance = trading_balance - ? where user_id = ?'),
} satisfies Record<string, Step<Mysql2Connection>>;

export type OutStep = keyof typeof outSteps;
export type InStep = keyof typeof inSteps;
export type StepName = OutStep | InStep;

export const OUT_STEPS = Object.keys(outSteps) as OutStep[];
export const IN_STEPS = Object.keys(inSteps) as InStep[];

export function isStep(name: string): name is StepName {
  return Object.hasOwn(outSteps, name) || Object.hasOwn(inSteps, name);
}

/** One branch call a service served: its step (or route), identity, start or end, and its x-trace-id. */
export interface Served {
  step: string;
  gid: string;
  branchId: string;
  op: string;
  phase: 'start' | 'end';
  trace: string;
}

/** The business of one test: its two databases and the log of the branch calls it served. */
export class Busi {
  readonly served: Served[] = [];
  /** gids whose next TransIn request answers ONGOING, once (a branch not ready yet, asked again later). */
  readonly notReadyOnce = new Set<string>();

  constructor(
    readonly outDb: BarrierDb<PgQueryable>,
    readonly inDb: BarrierDb<Mysql2Connection>,
  ) {}

  /** Runs `step` in a local transaction of its side's database, protected by `barrier`. */
  async run(step: StepName, barrier: BranchBarrier, t: Transfer): Promise<string | undefined> {
    const v = Object.hasOwn(outSteps, step)
      ? await barrier.call(this.outDb, (c) => outSteps[step as OutStep](c, t))
      : await barrier.call(this.inDb, (c) => inSteps[step as InStep](c, t));
    return v ?? undefined;
  }

  /** One branch request: logged (start and end), then `step` under the request's barrier. */
  serve(step: StepName, b: BranchRequest<unknown>, t: Transfer, trace = ''): Promise<string | undefined> {
    return this.traced(step, b, trace, () => {
      if (step === 'TransIn' && this.notReadyOnce.delete(b.gid)) throw new Ongoing(`TransIn of ${b.gid} is not ready yet`);
      return this.run(step, b.barrier(), t);
    });
  }

  /** Runs `fn` for a request logged as `name` (for routes that are more than one step). */
  async traced<T>(name: string, b: BranchRequest<unknown>, trace: string, fn: () => Promise<T>): Promise<T> {
    const entry = { step: name, gid: b.gid, branchId: b.branchId, op: b.op, trace };
    this.served.push({ ...entry, phase: 'start' });
    try {
      return await fn();
    } finally {
      this.served.push({ ...entry, phase: 'end' });
    }
  }

  /** A msg's QueryPrepared check, answered from the TransOut side's barrier table. */
  queryPrepared(b: BranchRequest<unknown>, trace = ''): Promise<void> {
    return this.traced('QueryPrepared', b, trace, () => b.barrier().queryPrepared(this.outDb));
  }

  /** `<step> <branch id> <op>` of every call of `gid`, in the order they started. */
  calls(gid: string): string[] {
    return this.served.filter((s) => s.gid === gid && s.phase === 'start').map((s) => `${s.step} ${s.branchId} ${s.op}`);
  }

  /** The x-trace-id of every call of `gid`. */
  traces(gid: string): Set<string> {
    return new Set(this.served.filter((s) => s.gid === gid).map((s) => s.trace));
  }
}

/** The quick start's accounts: `user_account` on the TransOut side (PostgreSQL) and the TransIn side (MariaDB). */
export class Accounts {
  private last = 0;

  constructor(
    readonly out: { pool: pg.Pool },
    readonly inn: { pool: mysql.Pool },
    /** The opening balance on the TransOut side (TransIn's is 0). */
    readonly opening = 100,
  ) {}

  async create(): Promise<void> {
    const ddl = 'create table user_account (user_id int primary key, balance int not null, trading_balance int not null default 0)';
    await this.out.pool.query(ddl);
    await this.inn.pool.query(ddl);
  }

  /** A fresh user with accounts on both sides. */
  async open(): Promise<number> {
    const u = ++this.last;
    await this.out.pool.query('insert into user_account (user_id, balance) values ($1, $2)', [u, this.opening]);
    await this.inn.pool.query('insert into user_account (user_id, balance) values (?, 0)', [u]);
    return u;
  }

  /** [TransOut balance, TransIn balance, TransOut trading balance, TransIn trading balance], read from the databases. */
  async balances(u: number): Promise<[number, number, number, number]> {
    const o = await this.out.pool.query<{ balance: number; trading_balance: number }>(
      'select balance, trading_balance from user_account where user_id = $1',
      [u],
    );
    const [rows] = await this.inn.pool.query('select balance, trading_balance from user_account where user_id = ?', [u]);
    const i = (rows as { balance: number; trading_balance: number }[])[0];
    const out = o.rows[0];
    if (!out || !i) throw new Error(`no account ${u}`);
    return [out.balance, i.balance, out.trading_balance, i.trading_balance];
  }
}
