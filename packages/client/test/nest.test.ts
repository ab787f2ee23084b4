// dtm's quick-start saga whose branch service is a NestJS app written with @dtx/client/nest, on
// Nest's Express platform and on its Fastify platform: TransOut with its accounts in PostgreSQL,
// TransIn in MariaDB (test/busi.ts), each protected by the barrier; against a real coordinator,
// balances, branch calls and dtm's answers (200 / 409 / 425 / 400) checked.
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Controller, Get, Module, Param, Post, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtmClient, Failure, mysql2Db, pgDb, type BranchRequest } from '../src/index.ts';
import { Accounts, Busi, isStep, type Transfer } from './busi.ts';
import { DtmBranch, DtmRoute } from '../src/branch/nest.ts';
import {
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

/**
 * The branch service: one controller whose `:step` route runs busi.ts's step of that name (its
 * business closed over, no constructor injection needed).
 */
function busiModule(busi: Busi) {
  @Controller('api/busi')
  @DtmRoute()
  class BusiController {
    @Post(':step')
    step(@Param('step') step: string, @DtmBranch() b: BranchRequest<unknown>) {
      if (!isStep(step)) throw new TypeError(`no step ${step}`);
      return busi.serve(step, b, b.body as Transfer);
    }

    /** Returns an object: sent as the 200 body. */
    @Get('Echo')
    echo(@DtmBranch() b: BranchRequest<unknown>) {
      return { gid: b.gid, op: b.op };
    }
  }

  @Module({ controllers: [BusiController] })
  class BusiModule {}
  return BusiModule;
}

/** Each coordinator the suite runs against, with the service on each of Nest's HTTP platforms. */
const cases = coordinatorTargets().flatMap((t) => (['express', 'fastify'] as const).map((p) => [t, p] as const));

describe.runIf(businessDatabases).each(cases)('NestJS branch service against %s on platform-%s', (target, platform) => {
  let coordinator: StartedCoordinator;
  let dtm: DtmClient;
  let out: PgBusiness;
  let inn: MysqlBusiness;
  let app: INestApplication;
  let base = '';
  let busi: Busi;
  let accounts: Accounts;

  const account = () => accounts.open();
  const balances = (u: number) => accounts.balances(u);
  const callsOf = (gid: string) => busi.calls(gid);

  beforeAll(async () => {
    coordinator = await startTarget(target);
    dtm = new DtmClient(coordinator.url);
    out = await pgBusiness('nest');
    inn = await mysqlBusiness('nest');
    accounts = new Accounts(out, inn);
    await accounts.create();
    busi = new Busi(pgDb(out.pool), mysql2Db(inn.pool, { table: inn.table }));
    app =
      platform === 'express'
        ? await NestFactory.create(busiModule(busi), { logger: false })
        : await NestFactory.create(busiModule(busi), new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    expect(app.getHttpAdapter().getType()).toBe(platform);
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}/api/busi`;
  });
  afterAll(async () => {
    await app?.close();
    await out?.close();
    await inn?.close();
    await coordinator?.close();
  });

  it('saga: TransOut then TransIn on the Nest service, balances moved', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 30 };
    await dtm
      .saga(gid, { waitResult: true })
      .add(`${base}/TransOut`, `${base}/TransOutRevert`, t)
      .add(`${base}/TransIn`, `${base}/TransInRevert`, t)
      .submit();
    expect((await dtm.query(gid)).transaction?.status).toBe('succeed');
    expect(await balances(u)).toEqual([70, 30, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action']);
  });

  it('saga: TransIn throws Failure (409), TransOut is compensated, TransIn only null-compensated', async () => {
    const u = await account();
    const gid = await dtm.newGid();
    const t: Transfer = { user: u, amount: 30 };
    const saga = dtm
      .saga(gid, { waitResult: true })
      .add(`${base}/TransOut`, `${base}/TransOutRevert`, t)
      .add(`${base}/TransIn`, `${base}/TransInRevert`, { ...t, fail: true });
    await expect(saga.submit()).rejects.toBeInstanceOf(Failure);
    await eventually(async () => (await dtm.query(gid)).transaction?.status === 'failed');
    expect(await balances(u)).toEqual([100, 0, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action', 'TransInRevert 02 compensate', 'TransOutRevert 01 compensate']);
    expect((await dtm.query(gid)).transaction?.rollback_reason).toContain('TransIn refused');
    const [rows] = await inn.pool.query(`select op, reason from ${inn.table} where gid = ? order by id`, [gid]);
    expect(rows).toEqual([
      { op: 'action', reason: 'compensate' },
      { op: 'compensate', reason: 'compensate' },
    ]);
  });

  it("answers dtm's protocol: 200 for a POST success, the returned object, 409 for Failure, 400 without the branch identity", async () => {
    const u = await account();
    const q = (op: string) => `gid=g-nest-${u}&trans_type=saga&branch_id=01&op=${op}`;
    const post = (path: string, body: unknown) =>
      fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await post(`TransOut?${q('action')}`, { user: u, amount: 1 });
    expect([ok.status, await ok.json()]).toEqual([200, { dtm_result: 'SUCCESS' }]);
    const refused = await post(`TransOut?${q('action').replace('g-nest', 'g-nest-poor')}`, { user: u, amount: 1000 });
    expect([refused.status, await refused.json()]).toEqual([409, { dtm_result: 'FAILURE', message: `user ${u}: insufficient balance` }]);
    const echo = await fetch(`${base}/Echo?${q('action')}`);
    expect([echo.status, await echo.json()]).toEqual([200, { gid: `g-nest-${u}`, op: 'action' }]);
    const bad = await post('TransOut?gid=x', { user: u, amount: 1 });
    expect([bad.status, await bad.json()]).toEqual([400, { message: 'invalid trans info: missing trans_type, branch_id, op in the query' }]);
    expect(await balances(u)).toEqual([99, 0, 0, 0]);
  });

  it("Ongoing thrown from a handler answers 425 with dtm's ONGOING body; the coordinator asks again later", async () => {
    const u = await account();
    const q = `gid=g-nest-ongoing-${u}&trans_type=saga&branch_id=02&op=action`;
    const r = await fetch(`${base}/TransIn?${q}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: u, amount: 5, ongoing: true }),
    });
    expect([r.status, await r.json()]).toEqual([425, { dtm_result: 'ONGOING', message: 'not yet' }]);
    expect(await balances(u)).toEqual([100, 0, 0, 0]);

    // In a saga: TransIn is not ready at first (425), and is called again after the retry interval.
    const gid = await dtm.newGid();
    busi.notReadyOnce.add(gid);
    const t: Transfer = { user: u, amount: 30 };
    await dtm
      .saga(gid, { retryInterval: 1 })
      .add(`${base}/TransOut`, `${base}/TransOutRevert`, t)
      .add(`${base}/TransIn`, `${base}/TransInRevert`, t)
      .submit();
    await eventually(async () => (await dtm.query(gid)).transaction?.status === 'succeed', 30_000);
    expect(busi.notReadyOnce.has(gid)).toBe(false);
    expect(await balances(u)).toEqual([70, 30, 0, 0]);
    expect(callsOf(gid)).toEqual(['TransOut 01 action', 'TransIn 02 action', 'TransIn 02 action']);
    const branches = (await dtm.query(gid)).branches.map((b) => `${b.branch_id} ${b.op} ${b.status}`);
    expect(branches).toEqual(['01 compensate prepared', '01 action succeed', '02 compensate prepared', '02 action succeed']);
  });
});
