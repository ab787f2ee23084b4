// dtm's quick start with @dtx/client against a real coordinator (dtx in-process on SQLite and
// PostgreSQL, or DTX_CLIENT_TEST_URL): saga, concurrent saga, TCC, msg; branch services on
// Express (accounts in PostgreSQL) and Fastify (accounts in MariaDB), balances read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchBarrier, DtmClient, Duplicated, Failure, pgDb } from '../src/index.ts';
import type { Transfer } from './busi.ts';
import { Services } from './services.ts';
import { businessDatabases, eventually, mysqlBusiness, pgBusiness, protocolTargets, startTarget, type StartedCoordinator } from './support.ts';

describe.runIf(businessDatabases).each(protocolTargets())('quick start against %s over %s', (target, protocol) => {
  let coordinator: StartedCoordinator;
  let dtm: DtmClient;
  /** Queries go over HTTP: dtm's gRPC API has no query. */
  let http: DtmClient;
  let svc: Services;
  /** A fresh pair of accounts: 100 on the TransOut side, 0 on the TransIn side. */
  const account = () => svc.accounts.open();
  const status = async (gid: string) => (await http.query(gid)).transaction?.status;

  beforeAll(async () => {
    coordinator = await startTarget(target);
    http = new DtmClient(coordinator.url);
    dtm = protocol === 'grpc' ? new DtmClient(coordinator.grpcUrl) : http;
    svc = new Services(await pgBusiness('qs'), await mysqlBusiness('qs'), dtm);
    await svc.start();
  });
  afterAll(async () => {
    await svc?.stop();
    await svc?.out.close();
    await svc?.inn.close();
    await coordinator?.close();
  });

  it.runIf(protocol === 'grpc')('over gRPC: newGid works, query is refused naming the reason', async () => {
    expect(await dtm.newGid()).toMatch(/.+/);
    await expect(dtm.query('any')).rejects.toThrow(/not available over gRPC/);
  });

  it('saga: TransOut then TransIn, balances moved', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 30 };
    await dtm
      .saga(gid, { waitResult: true, branchHeaders: { 'x-trace-id': `trace-${gid}` } })
      .add(`${svc.outBase}/TransOut`, `${svc.outBase}/TransOutRevert`, t)
      .add(`${svc.inBase}/TransIn`, `${svc.inBase}/TransInRevert`, t)
      .submit();
    expect(await status(gid)).toBe('succeed');
    expect(await svc.accounts.balances(u)).toEqual([70, 30, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action']);
    expect(svc.busi.traces(gid)).toEqual(new Set([`trace-${gid}`]));
  });

  it('saga: TransIn answers 409, TransOut is compensated, TransIn only null-compensated', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 30 };
    const saga = dtm
      .saga(gid, { waitResult: true })
      .add(`${svc.outBase}/TransOut`, `${svc.outBase}/TransOutRevert`, t)
      .add(`${svc.inBase}/TransIn`, `${svc.inBase}/TransInRevert`, { ...t, fail: true });
    await expect(saga.submit()).rejects.toBeInstanceOf(Failure);
    await eventually(async () => (await status(gid)) === 'failed');
    expect(await svc.accounts.balances(u)).toEqual([100, 0, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action', 'TransInRevert 02 compensate', 'TransOutRevert 01 compensate']);
    const [rows] = await svc.inn.pool.query(`select op, reason from ${svc.inn.table} where gid = ? order by id`, [gid]);
    expect(rows).toEqual([
      { op: 'action', reason: 'compensate' },
      { op: 'compensate', reason: 'compensate' },
    ]);
    const q = await http.query(gid);
    expect(q.transaction?.rollback_reason).toContain('TransIn refused');
  });

  it('concurrent saga with orders: the last step starts only after its prerequisites ended', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    await dtm
      .saga(gid, { waitResult: true, concurrent: true })
      .add(`${svc.outBase}/TransOut`, `${svc.outBase}/TransOutRevert`, { user: u, amount: 60 })
      .add(`${svc.inBase}/TransIn`, `${svc.inBase}/TransInRevert`, { user: u, amount: 10 })
      .add(`${svc.inBase}/TransIn`, `${svc.inBase}/TransInRevert`, { user: u, amount: 50 })
      .addBranchOrder(2, [0, 1])
      .submit();
    expect(await status(gid)).toBe('succeed');
    expect(await svc.accounts.balances(u)).toEqual([40, 60, 0, 0]);
    const ev = svc.busi.served.filter((e) => e.gid === gid).map((e) => `${e.branchId} ${e.phase}`);
    const at = (x: string) => ev.indexOf(x);
    expect(at('03 start')).toBeGreaterThan(at('01 end'));
    expect(at('03 start')).toBeGreaterThan(at('02 end'));
  });

  it('saga: timeoutToFail rolls back a saga whose TransIn stays ONGOING', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 20 };
    await dtm
      .saga(gid, { timeoutToFail: 2, retryInterval: 1 })
      .add(`${svc.outBase}/TransOut`, `${svc.outBase}/TransOutRevert`, t)
      .add(`${svc.inBase}/TransIn`, `${svc.inBase}/TransInRevert`, { ...t, ongoing: true })
      .submit();
    await eventually(async () => (await status(gid)) === 'failed', 30_000);
    expect((await http.query(gid)).transaction?.rollback_reason).toBe('Timeout after 2 seconds');
    expect(await svc.accounts.balances(u)).toEqual([100, 0, 0, 0]);
  });

  it('saga: retryLimit ends a saga whose TransIn keeps answering ONGOING', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 20 };
    await dtm
      .saga(gid, { retryLimit: 1 })
      .add(`${svc.outBase}/TransOut`, `${svc.outBase}/TransOutRevert`, t)
      .add(`${svc.inBase}/TransIn`, `${svc.inBase}/TransInRevert`, { ...t, ongoing: true })
      .submit();
    await eventually(async () => (await status(gid)) === 'failed', 30_000);
    expect((await http.query(gid)).transaction?.rollback_reason).toBe('RetryCount is greater than RetryLimit, RetryLimit: 1');
    expect(await svc.accounts.balances(u)).toEqual([100, 0, 0, 0]);
  });

  it('TCC: tries reserve (their replies returned, raw or decoded), the coordinator confirms', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 30 };
    await dtm.tccGlobalTransaction(
      gid,
      async (tcc) => {
        const reserved = await tcc.callBranch(
          t,
          `${svc.outBase}/TransOutTry`,
          `${svc.outBase}/TransOutConfirm`,
          `${svc.outBase}/TransOutCancel`,
          undefined,
          (b) => JSON.parse(b.toString('utf8')) as unknown,
        );
        expect(reserved).toEqual({ dtm_result: 'SUCCESS', result: `reserved 30 for user ${u}` });
        expect(await svc.accounts.balances(u)).toEqual([100, 0, -30, 0]);
        const raw = await tcc.callBranch(t, `${svc.inBase}/TransInTry`, `${svc.inBase}/TransInConfirm`, `${svc.inBase}/TransInCancel`);
        expect(Buffer.isBuffer(raw) && raw.toString('utf8')).toBe('{"dtm_result":"SUCCESS"}');
      },
      { waitResult: true },
    );
    expect(await status(gid)).toBe('succeed');
    expect(await svc.accounts.balances(u)).toEqual([70, 30, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['TransOutTry 01 try', 'TransInTry 02 try', 'TransInConfirm 02 confirm', 'TransOutConfirm 01 confirm']);
  });

  it('TCC: a try answering 409 aborts; the coordinator cancels both (the failed one as a null compensation)', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 30 };
    const run = dtm.tccGlobalTransaction(gid, async (tcc) => {
      await tcc.callBranch(t, `${svc.outBase}/TransOutTry`, `${svc.outBase}/TransOutConfirm`, `${svc.outBase}/TransOutCancel`);
      await tcc.callBranch({ ...t, fail: true }, `${svc.inBase}/TransInTry`, `${svc.inBase}/TransInConfirm`, `${svc.inBase}/TransInCancel`);
    });
    await expect(run).rejects.toBeInstanceOf(Failure);
    await eventually(async () => (await status(gid)) === 'failed');
    expect((await http.query(gid)).transaction?.rollback_reason).toContain('TransIn refused');
    expect(await svc.accounts.balances(u)).toEqual([100, 0, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['TransOutTry 01 try', 'TransInTry 02 try', 'TransInCancel 02 cancel', 'TransOutCancel 01 cancel']);
  });

  it('TCC: a try opens a nested branch under its own id; the coordinator confirms both', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 15 };
    await dtm.tccGlobalTransaction(
      gid,
      (tcc) => tcc.callBranch(t, `${svc.outBase}/TransOutTryNested`, `${svc.outBase}/TransOutConfirm`, `${svc.outBase}/TransOutCancel`),
      { waitResult: true },
    );
    expect(await status(gid)).toBe('succeed');
    expect(await svc.accounts.balances(u)).toEqual([85, 15, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual([
      'TransOutTryNested 01 try',
      'TransInTry 0101 try',
      'TransInConfirm 0101 confirm',
      'TransOutConfirm 01 confirm',
    ]);
  });

  it('msg: doAndSubmit runs TransOut in a local pg transaction, the coordinator calls TransIn', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 25 };
    const outDb = pgDb(svc.out.pool);
    await dtm
      .msg(gid, { waitResult: true })
      .add(`${svc.inBase}/TransIn`, t)
      .doAndSubmit(`${svc.outBase}/QueryPrepared`, (bb) =>
        bb.call(outDb, (c) => c.query('update user_account set balance = balance - $1 where user_id = $2', [t.amount, u])),
      );
    expect(await status(gid)).toBe('succeed');
    expect(await svc.accounts.balances(u)).toEqual([75, 25, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['TransIn 01 action']);
  });

  it('msg: doAndSubmit aborts when the local transaction throws Failure (nothing moved)', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 25 };
    const outDb = pgDb(svc.out.pool);
    const run = dtm
      .msg(gid)
      .add(`${svc.inBase}/TransIn`, t)
      .doAndSubmit(`${svc.outBase}/QueryPrepared`, (bb) =>
        bb.call(outDb, async (c) => {
          await c.query('update user_account set balance = balance - $1 where user_id = $2', [t.amount, u]);
          throw new Failure('refused after the write');
        }),
      );
    await expect(run).rejects.toThrow('refused after the write');
    expect(await status(gid)).toBe('failed');
    expect(await svc.accounts.balances(u)).toEqual([100, 0, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual([]);
  });

  it('msg: a client that crashed after its local commit is resolved by QueryPrepared (SUCCESS)', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 40 };
    const msg = dtm.msg(gid, { timeoutToFail: 1 }).add(`${svc.inBase}/TransIn`, t);
    await msg.prepare(`${svc.outBase}/QueryPrepared`);
    // The local transaction commits, then the process "dies": no submit.
    await new BranchBarrier('msg', gid, '00', 'msg').call(pgDb(svc.out.pool), (c) =>
      c.query('update user_account set balance = balance - $1 where user_id = $2', [t.amount, u]),
    );
    expect(await status(gid)).toBe('prepared');
    await eventually(async () => (await status(gid)) === 'succeed', 40_000);
    expect(await svc.accounts.balances(u)).toEqual([60, 40, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['QueryPrepared 00 msg', 'TransIn 01 action']);
  });

  it('msg: a client that crashed before its local transaction: QueryPrepared FAILURE, the late transaction is refused', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 40 };
    const msg = dtm.msg(gid, { timeoutToFail: 1 }).add(`${svc.inBase}/TransIn`, t);
    await msg.prepare(`${svc.outBase}/QueryPrepared`);
    await eventually(async () => (await status(gid)) === 'failed', 40_000);
    const late = new BranchBarrier('msg', gid, '00', 'msg').call(pgDb(svc.out.pool), (c) =>
      c.query('update user_account set balance = balance - $1 where user_id = $2', [t.amount, u]),
    );
    await expect(late).rejects.toBeInstanceOf(Duplicated);
    expect(await svc.accounts.balances(u)).toEqual([100, 0, 0, 0]);
    expect(svc.busi.calls(gid)).toEqual(['QueryPrepared 00 msg']);
  });
});
