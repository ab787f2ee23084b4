// XA with @dtx/client against a real coordinator: TransOut in a PostgreSQL XA branch (a private
// server with max_prepared_transactions) and TransIn in a MariaDB XA branch; commit and rollback,
// balances, barrier rows and the order of branch calls read back (docs/client/xa.md). The
// branches are HTTP services (TransOut on Express, TransIn on Fastify) and, when the client talks
// gRPC to the coordinator, also a grpc-js service (busi.Busi), so that an XA transaction runs
// entirely over gRPC: phase 1 called by the client, the registration by the branch, phase 2 by
// the coordinator.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DtmClient,
  Failure,
  barrierDdl,
  dtmExpress,
  dtmFastify,
  mysql2Db,
  mysql2Xa,
  pgDb,
  pgXa,
  type BranchRequest,
  type Xa,
  type XaDb,
} from '../src/index.ts';
import { PrivatePostgres } from '../../../tests/support/private-pg.ts';
import { Accounts, Busi, inSteps, outSteps, type Transfer } from './busi.ts';
import { BusiService, busiMethod, decodeReply, encodeReply, encodeReq, reqOf, transferOf, type ReqGrpc } from './grpc-busi.ts';
import {
  businessDatabases,
  grpcServer,
  protocolTargets,
  eventually,
  mysqlBusiness,
  startTarget,
  type MysqlBusiness,
  type StartedCoordinator,
} from './support.ts';

/** How the test reaches one kind of XA branch service. */
interface Branches {
  out: string;
  in: string;
  /** Phase 1 of `url` with the transfer (JSON, or the encoded ReqGrpc), its reply decoded. */
  call: (xa: Xa, url: string, t: Transfer) => Promise<unknown>;
  /** Phase 1 of `url` with the transfer, its reply as bytes. */
  callRaw: (xa: Xa, url: string, t: Transfer) => Promise<Buffer>;
  /** The decoded reply that carries `message`. */
  reply: (message: string) => unknown;
  /** `url` called with only `identity` (no SDK), answered as [status or gRPC code, message]. */
  bare: (url: string, identity: Record<string, string>, t: Transfer) => Promise<[number, string]>;
}

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
  let grpcBranches: grpc.Server | undefined;
  let accounts: Accounts;
  /** For its call log: XA runs busi.ts's steps in XA transactions, not under the barrier. */
  let busi: Busi;
  /** The identity each phase-1 call carried: `<gid> <branch> <phase2_url> <dtm>`. */
  const phase1: string[] = [];
  const kinds: Partial<Record<'http' | 'grpc', Branches>> = {};

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
    busi = new Busi(pgDb(pool), mysql2Db(inn.pool, { table: inn.table }));

    /** TransOut in a PostgreSQL XA branch, TransIn in a MariaDB one; phase 1 answers what it prepared. */
    const xaBranch =
      <Tx>(db: XaDb<Tx>, step: (c: Tx, t: Transfer) => Promise<unknown>, name: string) =>
      (b: BranchRequest<unknown>, t: Transfer) =>
        busi.traced(`${name}Xa`, b, '', async () => {
          if (b.op === 'action') phase1.push(`${b.gid} ${b.branchId} ${b.phase2Url} ${b.dtm}`);
          await dtm.xaLocalTransaction(b, db, (c) => step(c, t));
          return b.op === 'action' ? `${name} prepared as ${b.branchId}` : undefined;
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

    const json = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));
    kinds.http = {
      out: `http://127.0.0.1:${(outServer.address() as AddressInfo).port}/api/busi/TransOutXa`,
      in: `http://127.0.0.1:${(inApp.server.address() as AddressInfo).port}/api/busi/TransInXa`,
      call: (xa, url, t) => xa.callBranch(t, url, undefined, json),
      callRaw: (xa, url, t) => xa.callBranch(t, url),
      reply: (message) => ({ dtm_result: 'SUCCESS', result: message }),
      bare: async (url, identity, t) => {
        const r = await fetch(`${url}?${new URLSearchParams(identity).toString()}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(t),
        });
        return [r.status, ((await r.json()) as { message: string }).message];
      },
    };
    if (protocol === 'grpc') {
      // The same branches as gRPC methods: phase 1 gets the ReqGrpc, phase 2 an empty message.
      const g = await grpcServer((s) =>
        s.addService(BusiService.service, {
          TransOutXa: busiMethod((b) => transOutXa(b, transferOf(b.body as ReqGrpc))),
          TransInXa: busiMethod((b) => transInXa(b, transferOf(b.body as ReqGrpc))),
        }),
      );
      grpcBranches = g.server;
      kinds.grpc = {
        out: `${g.address}/busi.Busi/TransOutXa`,
        in: `${g.address}/busi.Busi/TransInXa`,
        call: (xa, url, t) => xa.callBranch(reqOf(t), url, encodeReq, decodeReply),
        callRaw: (xa, url, t) => xa.callBranch(reqOf(t), url, encodeReq),
        reply: (message) => ({ Message: message }),
        bare: async (url, identity, t) => {
          const [address, method] = [url.slice(0, url.indexOf('/')), url.slice(url.lastIndexOf('/') + 1)];
          const client = new BusiService(address, grpc.credentials.createInsecure());
          const md = new grpc.Metadata();
          for (const [k, v] of Object.entries(identity)) md.set(`dtm-${k}`, v);
          try {
            const err = await new Promise<grpc.ServiceError | null>((resolve) =>
              (client[method] as (r: ReqGrpc, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void)(reqOf(t), md, resolve),
            );
            return [err?.code ?? grpc.status.OK, err?.details ?? ''];
          } finally {
            client.close();
          }
        },
      };
    }
  }, 180_000);

  afterAll(async () => {
    await inApp?.close();
    await new Promise<void>((resolve) => (outServer ? outServer.close(() => resolve()) : resolve()));
    grpcBranches?.forceShutdown();
    await dtm?.close();
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

  describe.each(protocol === 'grpc' ? (['http', 'grpc'] as const) : (['http'] as const))('with %s branches', (kind) => {
    const branches = (): Branches => {
      const b = kinds[kind];
      if (!b) throw new Error(`no ${kind} branches`);
      return b;
    };

    it('commits both XA branches; phase 1 replies come back raw or decoded', async () => {
      const { out, in: into, call, callRaw, reply } = branches();
      const u = await account();
      const gid = await dtm.newGid();
      await dtm.xaGlobalTransaction(
        gid,
        async (xa) => {
          expect(await call(xa, out, { user: u, amount: 30 })).toEqual(reply('TransOut prepared as 01'));
          const raw = await callRaw(xa, into, { user: u, amount: 30 });
          const expected = kind === 'http' ? JSON.stringify(reply('TransIn prepared as 02')) : encodeReply({ Message: 'TransIn prepared as 02' });
          expect(Buffer.isBuffer(raw) && raw.equals(Buffer.from(expected))).toBe(true);
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
      expect(busi.calls(gid)).toEqual(['TransOutXa 01 action', 'TransInXa 02 action', 'TransOutXa 01 commit', 'TransInXa 02 commit']);
      // Each branch learnt its phase-2 URL (its own) and the coordinator (the client's) from the call.
      expect(phase1.filter((p) => p.startsWith(`${gid} `))).toEqual([`${gid} 01 ${out} ${dtm.url}`, `${gid} 02 ${into} ${dtm.url}`]);
      expect((await http.query(gid)).branches.map((b) => `${b.branch_id} ${b.op} ${b.status} ${b.url}`)).toEqual([
        `01 rollback prepared ${out}`,
        `01 commit succeed ${out}`,
        `02 rollback prepared ${into}`,
        `02 commit succeed ${into}`,
      ]);
    });

    it('refuses a phase 1 without its phase-2 URL as invalid, naming it, before any SQL', async () => {
      const { out, bare } = branches();
      const u = await account();
      const identity = { gid: `xa-bad-${kind}-${u}`, trans_type: 'xa', branch_id: '01', op: 'action' };
      const message = `xa ${identity.gid} branch 01: phase 1 without its phase-2 URL (phase2_url in the query, dtm-phase2_url in gRPC metadata)`;
      expect(await bare(out, identity, { user: u, amount: 30 })).toEqual([kind === 'http' ? 400 : grpc.status.INVALID_ARGUMENT, message]);
      expect(await prepared()).toBe(0);
      expect(await balances(u)).toEqual([100, 0, 0, 0]);
      expect((await pool.query('select count(*)::int as n from dtm_barrier.barrier where gid = $1', [identity.gid])).rows).toEqual([{ n: 0 }]);
    });

    it('rolls the prepared branch back when a later branch fails', async () => {
      const { out, in: into, call } = branches();
      const u = await account();
      const gid = await dtm.newGid();
      const run = dtm.xaGlobalTransaction(gid, async (xa) => {
        await call(xa, out, { user: u, amount: 30 });
        await call(xa, into, { user: u, amount: 30, fail: true });
      });
      await expect(run).rejects.toThrow(new Failure(`TransIn refused for user ${u}`));
      await eventually(async () => (await http.query(gid)).transaction?.status === 'failed');
      expect(await balances(u)).toEqual([100, 0, 0, 0]);
      expect(await prepared()).toBe(0);
      const q = await http.query(gid);
      expect(q.branches.map((b) => `${b.branch_id} ${b.op} ${b.status}`)).toEqual(['01 rollback succeed', '01 commit prepared']);
      expect(q.transaction?.rollback_reason).toBe(`TransIn refused for user ${u}`);
      const rows = (await pool.query('select trans_type, op, reason from dtm_barrier.barrier where gid = $1', [gid])).rows;
      expect(rows).toEqual([{ trans_type: 'xa', op: 'action', reason: 'rollback' }]);
      expect(busi.calls(gid)).toEqual(['TransOutXa 01 action', 'TransInXa 02 action', 'TransOutXa 01 rollback']);
    });
  });
});
