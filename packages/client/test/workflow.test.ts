// Workflow with @dtx/client against a real coordinator: TransOut (PostgreSQL) and TransIn
// (MariaDB) as workflow steps with compensations; success, rollback, and resume by the
// coordinator's callback after the client died mid-workflow (docs/client/workflow.md). Over gRPC
// the callback is the client's gRPC service workflow.Workflow/Execute (addWorkflowService).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmClient, Failure, addWorkflowService, dtmExpress, mysql2Db, pgDb, type BranchBarrier, type Workflows } from '../src/index.ts';
import { Accounts, Busi, type StepName, type Transfer } from './busi.ts';
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
  let busi: Busi;
  let accounts: Accounts;
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
    accounts = new Accounts(out, inn);
    await accounts.create();
    busi = new Busi(pgDb(out.pool), mysql2Db(inn.pool, { table: inn.table }));

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
      const t = JSON.parse(raw) as Transfer;
      const log = (runs[wf.gid] ??= []);
      /** A workflow step: the business step under the barrier the workflow gives, logged in `runs`. */
      const step = (name: StepName) => async (bb: BranchBarrier) => {
        log.push(name);
        if (name === 'TransIn' && crashOnce.delete(wf.gid)) throw new Error('the client process died');
        return busi.run(name, bb, t);
      };
      await wf
        .newBranch()
        .onRollback(step('TransOutRevert'))
        .do(async (bb) => {
          await step('TransOut')(bb);
          return 'out done';
        });
      await wf
        .newBranch()
        .onRollback(step('TransInRevert'))
        .do(async (bb) => {
          await step('TransIn')(bb);
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

  const account = () => accounts.open();
  const balances = (u: number) => accounts.balances(u);
  const progress = async (gid: string) => (await http.query(gid)).branches.map((b) => `${b.branch_id} ${b.op} ${b.status}`);

  it('runs both steps and submits the result', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    expect(await wfs.execute('transfer', gid, JSON.stringify({ user: u, amount: 30 }))).toBe('{"moved":30}');
    expect((await http.query(gid)).transaction?.status).toBe('succeed');
    expect(await balances(u)).toEqual([70, 30, 0, 0]);
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
    expect(q.transaction?.rollback_reason).toBe(`TransIn refused for user ${u}`);
    expect(await balances(u)).toEqual([100, 0, 0, 0]);
    expect(runs[gid]).toEqual(['TransOut', 'TransIn', 'TransOutRevert']);
    expect(await progress(gid)).toEqual(['01 action succeed', '02 action failed', '01 rollback succeed']);
  });

  it('is resumed by the coordinator after the client died mid-workflow, replaying the recorded step', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    crashOnce.add(gid);
    await expect(wfs.execute('transfer', gid, JSON.stringify({ user: u, amount: 30 }))).rejects.toThrow('the client process died');
    expect((await http.query(gid)).transaction?.status).toBe('prepared');
    expect(await balances(u)).toEqual([70, 0, 0, 0]);
    await eventually(async () => (await http.query(gid)).transaction?.status === 'succeed', 45_000);
    expect(await balances(u)).toEqual([70, 30, 0, 0]);
    expect(runs[gid]).toEqual(['TransOut', 'TransIn', 'TransIn']);
  });
});
