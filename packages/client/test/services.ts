// The quick start's branch services, written with the client's own helpers: TransOut on
// Express with its accounts in PostgreSQL (pg), TransIn on Fastify with its accounts in MariaDB
// (mysql2), each branch protected by the barrier. Payload: {"user": id, "amount": n, "fail"?: true}.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Failure, Ongoing, dtmExpress, dtmFastify, mysql2Db, pgDb, type BranchRequest, type DtmClient } from '../src/index.ts';
import type { MysqlBusiness, PgBusiness } from './support.ts';

export interface Transfer {
  user: number;
  amount: number;
  /** TransIn / TransInTry answer FAILURE. */
  fail?: boolean;
  /** TransIn answers ONGOING. */
  ongoing?: boolean;
}

export interface Event {
  service: 'out' | 'in';
  path: string;
  gid: string;
  branchId: string;
  op: string;
  phase: 'start' | 'end';
  headers: Record<string, unknown>;
}

const transfer = (b: BranchRequest<unknown>): Transfer => b.body as Transfer;

export class Services {
  readonly events: Event[] = [];
  private outServer: Server | null = null;
  private inApp: FastifyInstance | null = null;
  outBase = '';
  inBase = '';

  constructor(
    readonly out: PgBusiness,
    readonly inn: MysqlBusiness,
    /** The client a try handler uses for nested TCC branches. */
    readonly dtm: DtmClient,
  ) {}

  async start(): Promise<void> {
    await this.out.pool.query('create table user_account (user_id int primary key, balance int not null, trading_balance int not null default 0)');
    await this.inn.pool.query('create table user_account (user_id int primary key, balance int not null, trading_balance int not null default 0)');

    const outDb = pgDb(this.out.pool);
    const app = express();
    app.use(express.json());
    const outRoute = (path: string, fn: (b: BranchRequest<express.Request>, t: Transfer) => Promise<unknown>) =>
      app.post(
        `/api/busi/${path}`,
        dtmExpress<express.Request>(async (b) => {
          this.log('out', path, b, 'start');
          try {
            return await fn(b, transfer(b));
          } finally {
            this.log('out', path, b, 'end');
          }
        }),
      );
    const adjustOut = (b: BranchRequest<express.Request>, sql: string, t: Transfer, check = false) =>
      b.barrier().call(outDb, async (c) => {
        const r = await c.query(sql, [t.amount, t.user]);
        if (check && r.rowCount === 0) throw new Failure(`user ${t.user}: insufficient balance`);
      });
    outRoute('TransOut', (b, t) => adjustOut(b, 'update user_account set balance = balance - $1 where user_id = $2 and balance >= $1', t, true));
    outRoute('TransOutRevert', (b, t) => adjustOut(b, 'update user_account set balance = balance + $1 where user_id = $2', t));
    outRoute('TransOutTry', (b, t) =>
      adjustOut(b, 'update user_account set trading_balance = trading_balance - $1 where user_id = $2 and balance + trading_balance >= $1', t, true),
    );
    // A try that opens a nested branch (TransIn's try) under its own branch id.
    outRoute('TransOutTryNested', async (b, t) => {
      await adjustOut(
        b,
        'update user_account set trading_balance = trading_balance - $1 where user_id = $2 and balance + trading_balance >= $1',
        t,
        true,
      );
      const tcc = this.dtm.tccFromBranch(b);
      await tcc.callBranch(t, `${this.inBase}/TransInTry`, `${this.inBase}/TransInConfirm`, `${this.inBase}/TransInCancel`);
    });
    outRoute('TransOutConfirm', (b, t) =>
      adjustOut(b, 'update user_account set balance = balance - $1, trading_balance = trading_balance + $1 where user_id = $2', t),
    );
    outRoute('TransOutCancel', (b, t) => adjustOut(b, 'update user_account set trading_balance = trading_balance + $1 where user_id = $2', t));
    app.get(
      '/api/busi/QueryPrepared',
      dtmExpress(async (b) => {
        this.log('out', 'QueryPrepared', b, 'start');
        await b.barrier().queryPrepared(outDb);
      }),
    );
    await new Promise<void>((resolve) => {
      this.outServer = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.outBase = `http://127.0.0.1:${(this.outServer!.address() as AddressInfo).port}/api/busi`;

    const inDb = mysql2Db(this.inn.pool, { table: this.inn.table });
    const f = Fastify();
    const inRoute = (path: string, sql: string, opts: { failable?: boolean; params?: (t: Transfer) => unknown[] } = {}) =>
      f.post(
        `/api/busi/${path}`,
        dtmFastify(async (b) => {
          this.log('in', path, b, 'start');
          try {
            const t = transfer(b);
            if (opts.failable && t.ongoing) throw new Ongoing('not yet');
            await b.barrier().call(inDb, async (c) => {
              await c.query(sql, opts.params ? opts.params(t) : [t.amount, t.user]);
              // After the write, so the test proves the barrier's rollback undid it.
              if (opts.failable && t.fail) throw new Failure(`TransIn refused for user ${t.user}`);
            });
          } finally {
            this.log('in', path, b, 'end');
          }
        }),
      );
    inRoute('TransIn', 'update user_account set balance = balance + ? where user_id = ?', { failable: true });
    inRoute('TransInRevert', 'update user_account set balance = balance - ? where user_id = ?');
    inRoute('TransInTry', 'update user_account set trading_balance = trading_balance + ? where user_id = ?', { failable: true });
    inRoute('TransInConfirm', 'update user_account set balance = balance + ?, trading_balance = trading_balance - ? where user_id = ?', {
      params: (t) => [t.amount, t.amount, t.user],
    });
    inRoute('TransInCancel', 'update user_account set trading_balance = trading_balance - ? where user_id = ?');
    await f.listen({ port: 0, host: '127.0.0.1' });
    this.inApp = f;
    this.inBase = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}/api/busi`;
  }

  private log(service: Event['service'], path: string, b: BranchRequest<unknown>, phase: Event['phase']): void {
    const headers = (b.req as { headers?: Record<string, unknown> }).headers ?? {};
    this.events.push({ service, path, gid: b.gid, branchId: b.branchId, op: b.op, phase, headers });
  }

  /** Opens accounts `user` on both sides with the given balances. */
  async open(user: number, out: number, inn: number): Promise<void> {
    await this.out.pool.query('insert into user_account (user_id, balance) values ($1, $2)', [user, out]);
    await this.inn.pool.query('insert into user_account (user_id, balance) values (?, ?)', [user, inn]);
  }

  /** [out balance, in balance, out trading, in trading] of `user`, read from the databases. */
  async balances(user: number): Promise<[number, number, number, number]> {
    const o = await this.out.pool.query<{ balance: number; trading_balance: number }>(
      'select balance, trading_balance from user_account where user_id = $1',
      [user],
    );
    const [rows] = await this.inn.pool.query('select balance, trading_balance from user_account where user_id = ?', [user]);
    const i = (rows as { balance: number; trading_balance: number }[])[0];
    const or = o.rows[0];
    if (!or || !i) throw new Error(`no account ${user}`);
    return [or.balance, i.balance, or.trading_balance, i.trading_balance];
  }

  calls(gid: string, service?: Event['service']): string[] {
    return this.events
      .filter((e) => e.gid === gid && e.phase === 'start' && (!service || e.service === service))
      .map((e) => `${e.path} ${e.branchId} ${e.op}`);
  }

  async stop(): Promise<void> {
    await this.inApp?.close();
    await new Promise<void>((resolve) => (this.outServer ? this.outServer.close(() => resolve()) : resolve()));
  }
}
