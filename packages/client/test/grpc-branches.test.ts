// Branch services over gRPC written with the client's helpers (dtmGrpc, the barrier), against a
// real coordinator over its gRPC API: a saga and a TCC whose branches are a grpc-js server
// (busi.Busi, test/proto/busi.proto), payloads as protobuf bytes; TransOut's accounts in
// PostgreSQL, TransIn's in MariaDB, balances read back.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmClient, Failure, dtmGrpc, mysql2Db, pgDb, type BranchRequest, type GrpcUnaryCallLike } from '../src/index.ts';
import {
  Accounts,
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

interface ReqGrpc {
  User: number;
  Amount: number;
  Fail?: boolean;
}

const def = loader.loadSync('busi.proto', {
  includeDirs: [fileURLToPath(new URL('proto', import.meta.url))],
  keepCase: true,
  longs: Number,
  defaults: true,
});
const Busi = (grpc.loadPackageDefinition(def) as unknown as { busi: { Busi: grpc.ServiceClientConstructor } }).busi.Busi;
/** The typed message's encoder: the request serializer of busi.Busi's methods (all take ReqGrpc). */
const encodeReq = (m: ReqGrpc): Uint8Array =>
  (def['busi.Busi'] as unknown as Record<string, grpc.MethodDefinition<ReqGrpc, unknown>>).TransOut!.requestSerialize(m);

describe.runIf(businessDatabases).each(coordinatorTargets())('gRPC branch services against %s', (target) => {
  let coordinator: StartedCoordinator;
  let dtm: DtmClient;
  let http: DtmClient;
  let out: PgBusiness;
  let inn: MysqlBusiness;
  let server: grpc.Server;
  let busi = '';
  const calls: { gid: string; call: string; trace: string }[] = [];
  let accounts: Accounts;

  const account = () => accounts.open();
  const balances = (u: number) => accounts.balances(u);
  const callsOf = (gid: string) => calls.filter((c) => c.gid === gid).map((c) => c.call);
  const status = async (gid: string) => (await http.query(gid)).transaction?.status;

  beforeAll(async () => {
    coordinator = await startTarget(target);
    http = new DtmClient(coordinator.url);
    dtm = new DtmClient(coordinator.grpcUrl);
    out = await pgBusiness('grpcb');
    inn = await mysqlBusiness('grpcb');
    accounts = new Accounts(out, inn, 1000);
    await accounts.create();
    const outDb = pgDb(out.pool);
    const inDb = mysql2Db(inn.pool, { table: inn.table });

    type Call = GrpcUnaryCallLike<ReqGrpc> & grpc.ServerUnaryCall<ReqGrpc, unknown>;
    const route = (name: string, fn: (b: BranchRequest<Call>, r: ReqGrpc) => Promise<unknown>) =>
      dtmGrpc<ReqGrpc, Call>(async (b) => {
        const trace = b.req.metadata.get('x-trace-id')[0]?.toString() ?? '';
        calls.push({ gid: b.gid, call: `${name} ${b.branchId} ${b.op}`, trace });
        return fn(b, b.body as ReqGrpc);
      });
    const adjustOut = (b: BranchRequest<Call>, sql: string, r: ReqGrpc, check = false) =>
      b.barrier().call(outDb, async (c) => {
        const res = await c.query(sql, [r.Amount, r.User]);
        if (check && res.rowCount === 0) throw new Failure(`user ${r.User}: insufficient balance`);
      });
    const started = await grpcServer((g) =>
      g.addService(Busi.service, {
        TransOut: route('TransOut', (b, r) =>
          adjustOut(b, 'update user_account set balance = balance - $1 where user_id = $2 and balance >= $1', r, true),
        ),
        TransOutRevert: route('TransOutRevert', (b, r) => adjustOut(b, 'update user_account set balance = balance + $1 where user_id = $2', r)),
        TransIn: route('TransIn', (b, r) =>
          b.barrier().call(inDb, async (c) => {
            await c.query('update user_account set balance = balance + ? where user_id = ?', [r.Amount, r.User]);
            // After the write, so the test proves the barrier's rollback undid it.
            if (r.Fail) throw new Failure(`TransIn refused for user ${r.User}`);
          }),
        ),
        TransInRevert: route('TransInRevert', (b, r) =>
          b.barrier().call(inDb, (c) => c.query('update user_account set balance = balance - ? where user_id = ?', [r.Amount, r.User])),
        ),
        TransOutTry: route('TransOutTry', async (b, r) => {
          if (r.Fail) throw new Failure(`TransOutTry refused for user ${r.User}`);
          await adjustOut(
            b,
            'update user_account set trading_balance = trading_balance - $1 where user_id = $2 and balance + trading_balance >= $1',
            r,
            true,
          );
          return { Message: 'reserved' };
        }),
        TransOutConfirm: route('TransOutConfirm', (b, r) =>
          adjustOut(b, 'update user_account set balance = balance - $1, trading_balance = trading_balance + $1 where user_id = $2', r),
        ),
        TransOutCancel: route('TransOutCancel', (b, r) =>
          adjustOut(b, 'update user_account set trading_balance = trading_balance + $1 where user_id = $2', r),
        ),
      }),
    );
    server = started.server;
    busi = `${started.address}/busi.Busi`;
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
      .add(`${busi}/TransOut`, `${busi}/TransOutRevert`, r, encodeReq)
      .add(`${busi}/TransIn`, `${busi}/TransInRevert`, encodeReq(r))
      .submit();
    expect(await status(gid)).toBe('succeed');
    expect(await balances(u)).toEqual([700, 300, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action']);
    expect(new Set(calls.filter((c) => c.gid === gid).map((c) => c.trace))).toEqual(new Set([`trace-${gid}`]));
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
      .add(`${busi}/TransOut`, `${busi}/TransOutRevert`, r, encodeReq)
      .add(`${busi}/TransIn`, `${busi}/TransInRevert`, { ...r, Fail: true }, encodeReq);
    await expect(saga.submit()).rejects.toBeInstanceOf(Failure);
    await eventually(async () => (await status(gid)) === 'failed');
    expect(await balances(u)).toEqual([1000, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action', 'TransInRevert 02 compensate', 'TransOutRevert 01 compensate']);
    expect((await http.query(gid)).transaction?.rollback_reason).toContain('TransIn refused');
    const [rows] = await inn.pool.query(`select op, reason from ${inn.table} where gid = ? order by id`, [gid]);
    expect(rows).toEqual([
      { op: 'action', reason: 'compensate' },
      { op: 'compensate', reason: 'compensate' },
    ]);
  });

  it('TCC over gRPC: the client calls the try over gRPC, the coordinator confirms', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const r: ReqGrpc = { User: u, Amount: 40 };
    await dtm.tccGlobalTransaction(
      gid,
      async (tcc) => {
        await tcc.callBranch(r, `${busi}/TransOutTry`, `${busi}/TransOutConfirm`, `${busi}/TransOutCancel`, encodeReq);
        expect(await balances(u)).toEqual([1000, 0, -40]);
      },
      { waitResult: true },
    );
    expect(await status(gid)).toBe('succeed');
    expect(await balances(u)).toEqual([960, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOutTry 01 try', 'TransOutConfirm 01 confirm']);
  });

  it('TCC over gRPC: a try answering Aborted rejects with Failure; the coordinator cancels', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const run = dtm.tccGlobalTransaction(gid, (tcc) =>
      tcc.callBranch({ User: u, Amount: 40, Fail: true }, `${busi}/TransOutTry`, `${busi}/TransOutConfirm`, `${busi}/TransOutCancel`, encodeReq),
    );
    await expect(run).rejects.toThrow(Failure);
    await eventually(async () => (await status(gid)) === 'failed');
    expect(await balances(u)).toEqual([1000, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOutTry 01 try', 'TransOutCancel 01 cancel']);
  });

  it('a call without the dtm-* metadata is refused with InvalidArgument naming what is missing, nothing written', async () => {
    const u = await account();
    const client = new Busi(busi.split('/')[0]!, grpc.credentials.createInsecure());
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
    expect(await balances(u)).toEqual([1000, 0, 0]);
  });
});
