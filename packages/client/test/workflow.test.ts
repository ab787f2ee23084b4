// Workflow with @dtx/client against a real coordinator: TransOut (PostgreSQL) and TransIn
// (MariaDB) as workflow steps with compensations; success, rollback, and resume by the
// coordinator's callback after the client died mid-workflow (docs/client/workflow.md). Over gRPC
// the callback is the client's gRPC service workflow.Workflow/Execute (addWorkflowService).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmClient, Failure, addWorkflowService, dtmExpress, mysql2Db, pgDb, type Workflows } from '../src/index.ts';
import {
  grpcServer,
  protocolTargets,
  eventually,
  mysqlBusiness,
  pgBusiness,
  startTarget,
  type MysqlBusiness,
  type PgBusiness,
  type StartedCoordinator,
  businessDatabases,
} from './support.ts';

interface Input {
  user: number;
  amount: number;
  fail?: boolean;
}

describe.runIf(businessDatabases).each(protocolTargets())('workflow against %s over %s', (target, protocol) => {
  let coordinator: StartedCoordinator;
  let dtm: DtmClient;
  /** Queries go over HTTP: dtm's gRPC API has no query. */
  let http: DtmClient;
  let out: PgBusiness;
  let inn: MysqlBusiness;
  let server: Server;
  let resumeServer: grpc.Server | undefined;
  let wfs: Workflows;
  let user = 0;
  /** Steps run, per gid (replayed steps are not run again). */
  const runs: Record<string, string[]> = {};
  /** gids whose TransIn step "crashes" once (the process dies before recording it). */
  const crashOnce = new Set<string>();

  beforeAll(async () => {
    coordinator = await startTarget(target);
    http = new DtmClient(coordinator.url);
    dtm = protocol === 'grpc' ? new DtmClient(coordinator.grpcUrl) : http;
    out = await pgBusiness('wf');
    inn = await mysqlBusiness('wf');
    await out.pool.query('create table user_account (user_id int primary key, balance int not null)');
    await inn.pool.query('create table user_account (user_id int primary key, balance int not null)');
    const outDb = pgDb(out.pool);
    const inDb = mysql2Db(inn.pool, { table: inn.table });

    const app = express().use(express.json());
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    let callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/workflow/resume`;
    if (protocol === 'grpc') {
      // The callback is served before wfs exists; it is looked up per call.
      const g = await grpcServer((server) => addWorkflowService(server, { execute: (name, gid, input) => wfs.execute(name, gid, input) }));
      resumeServer = g.server;
      callbackUrl = `${g.address}/workflow.Workflow/Execute`;
    }
    wfs = dtm.workflows({ callbackUrl, retryInterval: 1 });
    app.post(
      '/workflow/resume',
      dtmExpress((b) => wfs.executeByRequest(b)),
    );

    wfs.register('transfer', async (wf, raw) => {
      const t = JSON.parse(raw) as Input;
      const log = (runs[wf.gid] ??= []);
      await wf
        .newBranch()
        .onRollback(async (bb) => {
          log.push('TransOutRevert');
          await bb.call(outDb, (c) => c.query('update user_account set balance = balance + $1 where user_id = $2', [t.amount, t.user]));
        })
        .do(async (bb) => {
          log.push('TransOut');
          await bb.call(outDb, async (c) => {
            const r = await c.query('update user_account set balance = balance - $1 where user_id = $2 and balance >= $1', [t.amount, t.user]);
            if (r.rowCount === 0) throw new Failure('insufficient balance');
          });
          return 'out done';
        });
      await wf
        .newBranch()
        .onRollback(async (bb) => {
          log.push('TransInRevert');
          await bb.call(inDb, (c) => c.query('update user_account set balance = balance - ? where user_id = ?', [t.amount, t.user]));
        })
        .do(async (bb) => {
          log.push('TransIn');
          if (crashOnce.delete(wf.gid)) throw new Error('the client process died');
          if (t.fail) throw new Failure('TransIn refused');
          await bb.call(inDb, (c) => c.query('update user_account set balance = balance + ? where user_id = ?', [t.amount, t.user]));
          return 'in done';
        });
      return JSON.stringify({ moved: t.amount });
    });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    resumeServer?.forceShutdown();
    await dtm?.close();
    await out?.close();
    await inn?.close();
    await coordinator?.close();
  });

  const account = async () => {
    user += 1;
    await out.pool.query('insert into user_account values ($1, 100)', [user]);
    await inn.pool.query('insert into user_account values (?, 0)', [user]);
    return user;
  };
  const balances = async (u: number) => {
    const o = await out.pool.query<{ balance: number }>('select balance from user_account where user_id = $1', [u]);
    const [rows] = await inn.pool.query('select balance from user_account where user_id = ?', [u]);
    return [o.rows[0]?.balance, (rows as { balance: number }[])[0]?.balance];
  };
  const progress = async (gid: string) => (await http.query(gid)).branches.map((b) => `${b.branch_id} ${b.op} ${b.status}`);

  it('runs both steps and submits the result', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    expect(await wfs.execute('transfer', gid, JSON.stringify({ user: u, amount: 30 }))).toBe('{"moved":30}');
    expect((await http.query(gid)).transaction?.status).toBe('succeed');
    expect(await balances(u)).toEqual([70, 30]);
    expect(await progress(gid)).toEqual(['01 action succeed', '02 action succeed']);
    // Executing a finished workflow again returns its stored result without running anything
    // (over gRPC dtm's PrepareWorkflow reply carries no result: docs/client/workflow.md).
    expect(await wfs.execute('transfer', gid, JSON.stringify({ user: u, amount: 30 }))).toBe(protocol === 'grpc' ? '' : '{"moved":30}');
    expect(runs[gid]).toEqual(['TransOut', 'TransIn']);
  });

  it('rolls back the steps that ran when a step fails', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    await expect(wfs.execute('transfer', gid, JSON.stringify({ user: u, amount: 30, fail: true }))).rejects.toBeInstanceOf(Failure);
    const q = await http.query(gid);
    expect(q.transaction?.status).toBe('failed');
    expect(q.transaction?.rollback_reason).toBe('TransIn refused');
    expect(await balances(u)).toEqual([100, 0]);
    expect(runs[gid]).toEqual(['TransOut', 'TransIn', 'TransOutRevert']);
    expect(await progress(gid)).toEqual(['01 action succeed', '02 action failed', '01 rollback succeed']);
  });

  it('is resumed by the coordinator after the client died mid-workflow, replaying the recorded step', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    crashOnce.add(gid);
    await expect(wfs.execute('transfer', gid, JSON.stringify({ user: u, amount: 30 }))).rejects.toThrow('the client process died');
    expect((await http.query(gid)).transaction?.status).toBe('prepared');
    expect(await balances(u)).toEqual([70, 0]);
    await eventually(async () => (await http.query(gid)).transaction?.status === 'succeed', 45_000);
    expect(await balances(u)).toEqual([70, 30]);
    expect(runs[gid]).toEqual(['TransOut', 'TransIn', 'TransIn']);
  });
});
