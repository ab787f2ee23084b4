// The quick start's branch services on HTTP, written with the client's own helpers: TransOut on
// Express with its accounts in PostgreSQL (pg), TransIn on Fastify with its accounts in MariaDB
// (mysql2); the business is busi.ts's, each step under the barrier. Payload: a Transfer as JSON.
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders, Server } from 'node:http';
import express from 'express';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { dtmExpress, dtmFastify, mysql2Db, pgDb, type DtmClient } from '../src/index.ts';
import { Accounts, Busi, IN_STEPS, OUT_STEPS, type Transfer } from './busi.ts';
import type { MysqlBusiness, PgBusiness } from './support.ts';

const traceOf = (headers: IncomingHttpHeaders): string => String(headers['x-trace-id'] ?? '');

export class Services {
  readonly busi: Busi;
  readonly accounts: Accounts;
  private outServer: Server | null = null;
  private inApp: FastifyInstance | null = null;
  outBase = '';
  inBase = '';

  constructor(
    readonly out: PgBusiness,
    readonly inn: MysqlBusiness,
    /** The client a try handler uses for nested TCC branches. */
    readonly dtm: DtmClient,
  ) {
    this.busi = new Busi(pgDb(out.pool), mysql2Db(inn.pool, { table: inn.table }));
    this.accounts = new Accounts(out, inn);
  }

  async start(): Promise<void> {
    await this.accounts.create();
    const busi = this.busi;

    const app = express().use(express.json());
    for (const step of OUT_STEPS) {
      app.post(
        `/api/busi/${step}`,
        dtmExpress<express.Request>((b) => busi.serve(step, b, b.body as Transfer, traceOf(b.req.headers))),
      );
    }
    // A try that opens a nested branch (TransIn's try) under its own branch id.
    app.post(
      '/api/busi/TransOutTryNested',
      dtmExpress<express.Request>((b) =>
        busi.traced('TransOutTryNested', b, traceOf(b.req.headers), async () => {
          const t = b.body as Transfer;
          await busi.run('TransOutTry', b.barrier(), t);
          await this.dtm.tccFromBranch(b).callBranch(t, `${this.inBase}/TransInTry`, `${this.inBase}/TransInConfirm`, `${this.inBase}/TransInCancel`);
        }),
      ),
    );
    app.get(
      '/api/busi/QueryPrepared',
      dtmExpress<express.Request>((b) => busi.queryPrepared(b, traceOf(b.req.headers))),
    );
    await new Promise<void>((resolve) => {
      this.outServer = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.outBase = `http://127.0.0.1:${(this.outServer!.address() as AddressInfo).port}/api/busi`;

    const f = Fastify();
    for (const step of IN_STEPS) {
      f.post(
        `/api/busi/${step}`,
        dtmFastify<FastifyRequest>((b) => busi.serve(step, b, b.body as Transfer, traceOf(b.req.headers))),
      );
    }
    await f.listen({ port: 0, host: '127.0.0.1' });
    this.inApp = f;
    this.inBase = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}/api/busi`;
  }

  async stop(): Promise<void> {
    await this.inApp?.close();
    await new Promise<void>((resolve) => (this.outServer ? this.outServer.close(() => resolve()) : resolve()));
  }
}
