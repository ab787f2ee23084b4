// XA with @dtx/client against a real coordinator: TransOut in a PostgreSQL XA branch (a private
// server with max_prepared_transactions, on Express) and TransIn in a MariaDB XA branch (on
// Fastify); commit and rollback, balances and barrier rows read back (docs/client/xa.md).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmClient, Failure, barrierDdl, dtmExpress, dtmFastify, mysql2Xa, pgXa, type BranchRequest, type XaDb } from '../src/index.ts';
import { PrivatePostgres } from '../../../tests/support/private-pg.ts';
import { Accounts, inSteps, outSteps, type Transfer } from './busi.ts';
import {
  businessDatabases,
  protocolTargets,
  eventually,
  mysqlBusiness,
  startTarget,
  type MysqlBusiness,
  type StartedCoordinator,
} from './support.ts';

describe.runIf(businessDatabases).each(protocolTargets())('XA against %s over %s', (target, protocol) => {
  let coordinator: StartedCoordinator;
  let dtm: DtmClient;
  /** Queries go over HTTP: dtm's gRPC API has no query. */
  let http: DtmClient;
  let privatePg: PrivatePostgres;
  let pool: pg.Pool;
  let inn: MysqlBusiness;
  let outServer: Server;
  let inApp: FastifyInstance;
  let outUrl = '';
  let inUrl = '';
  let accounts: Accounts;

  beforeAll(async () => {
    coordinator = await startTarget(target);
    http = new DtmClient(coordinator.url);
    dtm = protocol === 'grpc' ? new DtmClient(coordinator.grpcUrl) : http;

    privatePg = await new PrivatePostgres().init();
    const admin = new pg.Client({ connectionString: privatePg.url() });
    await admin.connect();
    await admin.query('ALTER SYSTEM SET max_prepared_transactions = 20');
    await admin.end();
    privatePg.stop();
    privatePg.start();
    pool = new pg.Pool({ connectionString: privatePg.url(), max: 6 });
    for (const s of barrierDdl('postgres')) await pool.query(s);
    inn = await mysqlBusiness('xa');
    accounts = new Accounts({ pool }, inn);
    await accounts.create();

    /** TransOut in a PostgreSQL XA branch, TransIn in a MariaDB one; phase 1 answers what it prepared. */
    const xaBranch =
      <Tx>(db: XaDb<Tx>, step: (c: Tx, t: Transfer) => Promise<unknown>, name: string) =>
      (b: BranchRequest<unknown>, t: Transfer) =>
        dtm.xaLocalTransaction(b, db, async (c) => {
          await step(c, t);
          return `${name} prepared as ${b.branchId}`;
        });
    const transOutXa = xaBranch(pgXa(pool), outSteps.TransOut, 'TransOut');
    const transInXa = xaBranch(mysql2Xa(inn.pool, { table: inn.table }), inSteps.TransIn, 'TransIn');

    const app = express().use(express.json());
    app.post(
      '/api/busi/TransOutXa',
      dtmExpress((b) => transOutXa(b, b.body as Transfer)),
    );
    await new Promise<void>((resolve) => {
      outServer = app.listen(0, '127.0.0.1', () => resolve());
    });
    outUrl = `http://127.0.0.1:${(outServer.address() as AddressInfo).port}/api/busi/TransOutXa`;

    inApp = Fastify();
    // Phase 2 is always a POST with an empty body: accept it.
    inApp.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch (e) {
        done(e as Error, undefined);
      }
    });
    inApp.post(
      '/api/busi/TransInXa',
      dtmFastify((b) => transInXa(b, b.body as Transfer)),
    );
    await inApp.listen({ port: 0, host: '127.0.0.1' });
    inUrl = `http://127.0.0.1:${(inApp.server.address() as AddressInfo).port}/api/busi/TransInXa`;
  }, 180_000);

  afterAll(async () => {
    await inApp?.close();
    await new Promise<void>((resolve) => (outServer ? outServer.close(() => resolve()) : resolve()));
    await pool?.end();
    await inn?.close();
    privatePg?.stop();
    await coordinator?.close();
  });

  const account = () => accounts.open();
  const balances = (u: number) => accounts.balances(u);
  /** XA transactions still prepared in either database. */
  const prepared = async () => {
    const [x] = await inn.pool.query('XA RECOVER');
    return (await pool.query('select gid from pg_prepared_xacts')).rows.length + (x as unknown[]).length;
  };

  it('commits both XA branches; phase 1 replies come back raw or decoded', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    await dtm.xaGlobalTransaction(
      gid,
      async (xa) => {
        const outReply = await xa.callBranch({ user: u, amount: 30 }, outUrl, undefined, (b) => JSON.parse(b.toString('utf8')) as unknown);
        expect(outReply).toEqual({ dtm_result: 'SUCCESS', result: 'TransOut prepared as 01' });
        const inReply = await xa.callBranch({ user: u, amount: 30 }, inUrl);
        expect(Buffer.isBuffer(inReply) && inReply.toString('utf8')).toBe('{"dtm_result":"SUCCESS","result":"TransIn prepared as 02"}');
        // Prepared, not yet visible.
        expect(await balances(u)).toEqual([100, 0, 0, 0]);
      },
      { waitResult: true },
    );
    expect((await http.query(gid)).transaction?.status).toBe('succeed');
    expect(await balances(u)).toEqual([70, 30, 0, 0]);
    expect(await prepared()).toBe(0);
    const [rows] = await inn.pool.query(`select trans_type, op, reason from ${inn.table} where gid = ?`, [gid]);
    expect(rows).toEqual([{ trans_type: 'xa', op: 'action', reason: 'action' }]);
  });

  it('rolls the prepared branch back when a later branch fails', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const run = dtm.xaGlobalTransaction(gid, async (xa) => {
      await xa.callBranch({ user: u, amount: 30 }, outUrl);
      await xa.callBranch({ user: u, amount: 30, fail: true }, inUrl);
    });
    await expect(run).rejects.toBeInstanceOf(Failure);
    await eventually(async () => (await http.query(gid)).transaction?.status === 'failed');
    expect(await balances(u)).toEqual([100, 0, 0, 0]);
    expect(await prepared()).toBe(0);
    const q = await http.query(gid);
    expect(q.branches.map((b) => `${b.branch_id} ${b.op} ${b.status}`)).toEqual(['01 rollback succeed', '01 commit prepared']);
    const rows = (await pool.query('select trans_type, op, reason from dtm_barrier.barrier where gid = $1', [gid])).rows;
    expect(rows).toEqual([{ trans_type: 'xa', op: 'action', reason: 'rollback' }]);
  });
});
