// Branch services over gRPC written with the client's helpers (dtmGrpc, the barrier), against a
// real coordinator over its gRPC API: a saga and a TCC whose branches are a grpc-js server
// (busi.Busi, test/proto/busi.proto), payloads as protobuf bytes; TransOut's accounts in
// PostgreSQL, TransIn's in MariaDB, balances read back.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BranchBarrier, DtmClient, Duplicated, Failure, mysql2Db, pgDb, type MsgOptions } from '../src/index.ts';
import { Accounts, Busi } from './busi.ts';
import { BusiService, busiHandlers, decodeReply, encodeReq, type ReqGrpc } from './grpc-busi.ts';
import {
  grpcServer,
  businessDatabases,
  coordinatorTargets,
  eventually,
  mysqlBusiness,
  pgBusiness,
  startTarget,
  type MysqlBusiness,
  type PgBusiness,
  type StartedCoordinator,
} from './support.ts';

describe.runIf(businessDatabases).each(coordinatorTargets())('gRPC branch services against %s', (target) => {
  let coordinator: StartedCoordinator;
  let dtm: DtmClient;
  let http: DtmClient;
  let out: PgBusiness;
  let inn: MysqlBusiness;
  let server: grpc.Server;
  /** host:port/busi.Busi, the prefix of the branch URLs. */
  let busiUrl = '';
  let busi: Busi;
  let accounts: Accounts;

  const account = () => accounts.open();
  const balances = (u: number) => accounts.balances(u);
  const callsOf = (gid: string) => busi.calls(gid);
  const status = async (gid: string) => (await http.query(gid)).transaction?.status;

  beforeAll(async () => {
    coordinator = await startTarget(target);
    http = new DtmClient(coordinator.url);
    dtm = new DtmClient(coordinator.grpcUrl);
    out = await pgBusiness('grpcb');
    inn = await mysqlBusiness('grpcb');
    accounts = new Accounts(out, inn, 1000);
    await accounts.create();
    busi = new Busi(pgDb(out.pool), mysql2Db(inn.pool, { table: inn.table }));
    const started = await grpcServer((g) => g.addService(BusiService.service, busiHandlers(busi)));
    server = started.server;
    busiUrl = `${started.address}/busi.Busi`;
  });
  afterAll(async () => {
    await dtm?.close();
    server?.forceShutdown();
    await out?.close();
    await inn?.close();
    await coordinator?.close();
  });

  it('saga over gRPC: protobuf payloads (typed message + encoder, raw bytes), balances moved, metadata carries identity and headers', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    // 300 encodes as the varint ac 02: not valid UTF-8, so bytes sent as text would be mangled.
    const r: ReqGrpc = { User: u, Amount: 300 };
    await dtm
      .saga(gid, { waitResult: true, branchHeaders: { 'x-trace-id': `trace-${gid}` } })
      .add(`${busiUrl}/TransOut`, `${busiUrl}/TransOutRevert`, r, encodeReq)
      .add(`${busiUrl}/TransIn`, `${busiUrl}/TransInRevert`, encodeReq(r))
      .submit();
    expect(await status(gid)).toBe('succeed');
    expect(await balances(u)).toEqual([700, 300, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action']);
    expect(busi.traces(gid)).toEqual(new Set([`trace-${gid}`]));
    // What the coordinator stored is the protobuf bytes, verbatim.
    const stored = (await http.query(gid)).branches.find((b) => b.op === 'action' && b.branch_id === '01');
    expect(Buffer.from(typeof stored?.bin_data === 'string' ? stored.bin_data : '', 'base64').equals(Buffer.from(encodeReq(r)))).toBe(true);
  });

  it('saga over gRPC: TransIn answers Aborted, TransOut is compensated, TransIn only null-compensated', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const r: ReqGrpc = { User: u, Amount: 30 };
    const saga = dtm
      .saga(gid, { waitResult: true })
      .add(`${busiUrl}/TransOut`, `${busiUrl}/TransOutRevert`, r, encodeReq)
      .add(`${busiUrl}/TransIn`, `${busiUrl}/TransInRevert`, { ...r, Fail: true }, encodeReq);
    await expect(saga.submit()).rejects.toBeInstanceOf(Failure);
    await eventually(async () => (await status(gid)) === 'failed');
    expect(await balances(u)).toEqual([1000, 0, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action', 'TransInRevert 02 compensate', 'TransOutRevert 01 compensate']);
    expect((await http.query(gid)).transaction?.rollback_reason).toContain('TransIn refused');
    const [rows] = await inn.pool.query(`select op, reason from ${inn.table} where gid = ? order by id`, [gid]);
    expect(rows).toEqual([
      { op: 'action', reason: 'compensate' },
      { op: 'compensate', reason: 'compensate' },
    ]);
  });

  it('TCC over gRPC: the client calls the tries over gRPC and gets their reply messages; the coordinator confirms', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const r: ReqGrpc = { User: u, Amount: 40 };
    await dtm.tccGlobalTransaction(
      gid,
      async (tcc) => {
        const reply = await tcc.callBranch(
          r,
          `${busiUrl}/TransOutTry`,
          `${busiUrl}/TransOutConfirm`,
          `${busiUrl}/TransOutCancel`,
          encodeReq,
          decodeReply,
        );
        expect(reply).toEqual({ Message: `reserved 40 for user ${u}` });
        expect(await balances(u)).toEqual([1000, 0, -40, 0]);
        // Without a decoder: the serialized BusiReply (TransInTry answers an empty Message: no bytes).
        const raw = await tcc.callBranch(r, `${busiUrl}/TransInTry`, `${busiUrl}/TransInConfirm`, `${busiUrl}/TransInCancel`, encodeReq);
        expect(Buffer.isBuffer(raw) && raw.length).toBe(0);
        expect(await balances(u)).toEqual([1000, 0, -40, 40]);
      },
      { waitResult: true },
    );
    expect(await status(gid)).toBe('succeed');
    expect(await balances(u)).toEqual([960, 40, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOutTry 01 try', 'TransInTry 02 try', 'TransInConfirm 02 confirm', 'TransOutConfirm 01 confirm']);
  });

  it('TCC over gRPC: a reply the decoder refuses rejects naming the branch; the transaction is cancelled', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const url = `${busiUrl}/TransOutTry`;
    const run = dtm.tccGlobalTransaction(gid, (tcc) =>
      tcc.callBranch({ User: u, Amount: 40 }, url, `${busiUrl}/TransOutConfirm`, `${busiUrl}/TransOutCancel`, encodeReq, () => {
        throw new Error('not a BusiReply');
      }),
    );
    await expect(run).rejects.toThrow(`the reply of ${url} could not be decoded: not a BusiReply`);
    await eventually(async () => (await status(gid)) === 'failed');
    expect((await http.query(gid)).transaction?.rollback_reason).toContain('could not be decoded');
    expect(await balances(u)).toEqual([1000, 0, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOutTry 01 try', 'TransOutCancel 01 cancel']);
  });

  it('TCC over gRPC: a try answering Aborted rejects with Failure; the coordinator cancels', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const run = dtm.tccGlobalTransaction(gid, (tcc) =>
      tcc.callBranch(
        { User: u, Amount: 40, Fail: true },
        `${busiUrl}/TransOutTry`,
        `${busiUrl}/TransOutConfirm`,
        `${busiUrl}/TransOutCancel`,
        encodeReq,
      ),
    );
    await expect(run).rejects.toThrow(Failure);
    await eventually(async () => (await status(gid)) === 'failed');
    expect(await balances(u)).toEqual([1000, 0, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOutTry 01 try', 'TransOutCancel 01 cancel']);
  });

  describe('msg over gRPC, its QueryPrepared a gRPC method answered from the barrier', () => {
    /** The msg's local transaction: TransOut under the msg's barrier (gid, branch 00, op msg). */
    const transOut = (u: number, amount: number) => (bb: BranchBarrier) => busi.run('TransOut', bb, { user: u, amount });
    const msgOf = (gid: string, r: ReqGrpc, options: MsgOptions = {}) => dtm.msg(gid, options).add(`${busiUrl}/TransIn`, r, encodeReq);
    /** What a user can see of a msg: its status, the balances, the branch calls and the msg's barrier row. */
    const outcome = async (gid: string, u: number) => ({
      status: await status(gid),
      balances: await balances(u),
      calls: callsOf(gid),
      barrier: (await out.pool.query('select branch_id, op, reason from dtm_barrier.barrier where gid = $1', [gid])).rows as unknown[],
    });
    /** The msg succeeded: `amount` moved, TransIn called (after a QueryPrepared check if `checked`), the barrier row the local transaction's. */
    const delivered = (amount: number, checked: boolean) => ({
      status: 'succeed',
      balances: [1000 - amount, amount, 0, 0],
      calls: [...(checked ? ['QueryPrepared 00 msg'] : []), 'TransIn 01 action'],
      barrier: [{ branch_id: '00', op: 'msg', reason: 'msg' }],
    });
    /** The msg failed on its QueryPrepared check: nothing moved, the barrier row sealed by the check. */
    const refused = {
      status: 'failed',
      balances: [1000, 0, 0, 0],
      calls: ['QueryPrepared 00 msg'],
      barrier: [{ branch_id: '00', op: 'msg', reason: 'rollback' }],
    };

    it('doAndSubmit: the local transaction commits, the coordinator calls TransIn', async () => {
      const u = await account();
      const gid = await dtm.newGid();
      await msgOf(gid, { User: u, Amount: 25 }, { waitResult: true }).doAndSubmit(`${busiUrl}/QueryPrepared`, transOut(u, 25));
      expect(await outcome(gid, u)).toEqual(delivered(25, false));
    });

    it('a client that died after its local commit: the coordinator asks QueryPrepared over gRPC (OK) and calls TransIn', async () => {
      const u = await account();
      const gid = await dtm.newGid();
      await msgOf(gid, { User: u, Amount: 40 }, { timeoutToFail: 1 }).prepare(`${busiUrl}/QueryPrepared`);
      await transOut(u, 40)(new BranchBarrier('msg', gid, '00', 'msg')); // then no submit
      expect(await status(gid)).toBe('prepared');
      await eventually(async () => (await status(gid)) === 'succeed', 40_000);
      expect(await outcome(gid, u)).toEqual(delivered(40, true));
    });

    it('a client that died before its local transaction: QueryPrepared answers Aborted, the msg fails, the late transaction is refused', async () => {
      const u = await account();
      const gid = await dtm.newGid();
      await msgOf(gid, { User: u, Amount: 40 }, { timeoutToFail: 1 }).prepare(`${busiUrl}/QueryPrepared`);
      await eventually(async () => (await status(gid)) === 'failed', 40_000);
      await expect(transOut(u, 40)(new BranchBarrier('msg', gid, '00', 'msg'))).rejects.toBeInstanceOf(Duplicated);
      expect(await outcome(gid, u)).toEqual(refused);
    });

    it('doAndSubmit whose local transaction committed but then threw: the client asks QueryPrepared over gRPC itself and submits', async () => {
      const u = await account();
      const gid = await dtm.newGid();
      const run = msgOf(gid, { User: u, Amount: 15 }, { waitResult: true }).doAndSubmit(`${busiUrl}/QueryPrepared`, async (bb) => {
        await transOut(u, 15)(bb);
        throw new Error('the answer of the commit was lost');
      });
      await expect(run).rejects.toThrow('the answer of the commit was lost');
      expect(await outcome(gid, u)).toEqual(delivered(15, true));
    });

    it('doAndSubmit whose local transaction never ran: the client asks QueryPrepared over gRPC, gets Aborted and aborts', async () => {
      const u = await account();
      const gid = await dtm.newGid();
      const run = msgOf(gid, { User: u, Amount: 15 }).doAndSubmit(`${busiUrl}/QueryPrepared`, () => Promise.reject(new Error('database down')));
      await expect(run).rejects.toThrow('database down');
      expect(await outcome(gid, u)).toEqual(refused);
    });
  });

  it('a call without the dtm-* metadata is refused with InvalidArgument naming what is missing, nothing written', async () => {
    const u = await account();
    const client = new BusiService(busiUrl.split('/')[0]!, grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.set('dtm-gid', 'g-bad');
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        (client.TransOut as grpc.requestCallback<unknown> & ((...a: unknown[]) => void))({ User: u, Amount: 10 }, md, (e: grpc.ServiceError | null) =>
          resolve(e),
        ),
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toBe('invalid trans info: missing dtm-trans_type, dtm-branch_id, dtm-op in the metadata');
    } finally {
      client.close();
    }
    expect(await balances(u)).toEqual([1000, 0, 0, 0]);
  });
});
