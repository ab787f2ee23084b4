// The go-zero driver against a real etcd (DTX_TEST_ETCD, started by `pnpm test`): the
// coordinator publishes itself like a go-zero service (a lease-backed `<key>/<lease id>`), and
// resolves etcd://, discov:// and direct:/// branch targets with round-robin over live endpoints.
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_TTL_SECONDS, type Coordinator } from '@dtx/coordinator';
import { eventually } from './support/branches.ts';
import { DtmHttp, startChild, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { freePort } from './support/processes.ts';
import { DtmGrpc, GrpcBranchServer } from './support/grpc.ts';
import { freshStore } from './support/stores.ts';

const ETCD = process.env.DTX_TEST_ETCD;
const gozero = { Driver: 'dtm-driver-gozero', Target: '', EndPoint: '' };

describe.skipIf(!ETCD)('go-zero driver with etcd', () => {
  let etcd: Etcd3;
  const suffix = randomBytes(4).toString('hex');

  beforeAll(() => {
    etcd = new Etcd3({ hosts: `http://${ETCD}` });
  });
  afterAll(() => etcd?.close());

  const keysUnder = async (key: string) => etcd.getAll().prefix(`${key}/`).strings();

  /** Publishes `address` under `key` the way go-zero's publisher does; returns the lease. */
  const publish = async (key: string, address: string) => {
    const lease = etcd.lease(LEASE_TTL_SECONDS);
    const id = await lease.grant();
    await lease.put(`${key}/${id}`).value(address);
    return lease;
  };

  describe('resolving branch targets', () => {
    let coordinator: Coordinator;
    let dtm: DtmGrpc;
    let http: DtmHttp;
    const a = new GrpcBranchServer(['/busi.Busi/Action']);
    const b = new GrpcBranchServer(['/busi.Busi/Action']);
    let n = 0;
    const gid = (label: string) => `gz-${label}-${++n}-${Date.now()}`;

    beforeAll(async () => {
      await Promise.all([a.start(), b.start()]);
      coordinator = await startInProcess(await freshStore('sqlite', 'gozero'), { MicroService: gozero });
      dtm = new DtmGrpc(`127.0.0.1:${coordinator.grpcPort}`);
      http = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    });
    afterAll(async () => {
      dtm?.close();
      await coordinator?.close();
      a.stop();
      b.stop();
    });

    /** Runs `count` one-step sagas against `url` and waits until they succeeded. */
    const runSagas = async (url: string, count: number, label: string) => {
      const gids: string[] = [];
      for (let i = 0; i < count; i++) {
        const g = gid(label);
        gids.push(g);
        const r = await dtm.call('Submit', {
          Gid: g,
          TransType: 'saga',
          Steps: JSON.stringify([{ action: url, compensate: '' }]),
          BinPayloads: [Buffer.from('x')],
          TransOptions: { WaitResult: true, RetryInterval: 1 },
        });
        expect(r).toMatchObject({ ok: true });
      }
      return gids;
    };
    const callsOf = (s: GrpcBranchServer, gids: string[]) => s.calls.filter((c) => gids.includes(c.metadata['dtm-gid'] ?? '')).length;

    it('round-robins etcd:// and discov:// targets over the live endpoints and follows etcd changes', async () => {
      const key = `dtx-busi-${suffix}`;
      const leaseA = await publish(key, `127.0.0.1:${a.port}`);
      const leaseB = await publish(key, `127.0.0.1:${b.port}`);
      const both = await runSagas(`etcd://${ETCD}/${key}/busi.Busi/Action`, 6, 'rr');
      expect(callsOf(a, both)).toBe(3);
      expect(callsOf(b, both)).toBe(3);
      // An instance whose key goes away (revoked here; expired when it crashes) gets no more calls.
      await leaseA.revoke();
      const onlyB = await eventually(async () => {
        const gids = await runSagas(`discov://${ETCD}/${key}/busi.Busi/Action`, 2, 'rr2');
        return callsOf(a, gids) === 0 ? gids : null;
      });
      expect(callsOf(b, onlyB)).toBe(2);
      await leaseB.revoke();
    });

    it('retries while a service has no live endpoint, and calls it once one registers', async () => {
      const key = `dtx-late-${suffix}`;
      const g = gid('late');
      const r = await dtm.call('Submit', {
        Gid: g,
        TransType: 'saga',
        Steps: JSON.stringify([{ action: `etcd://${ETCD}/${key}/busi.Busi/Action`, compensate: '' }]),
        BinPayloads: [Buffer.from('x')],
        TransOptions: { RetryInterval: 1 },
      });
      expect(r).toMatchObject({ ok: true });
      await eventually(async () => ((await coordinator.db.store.findGlobal(g))?.lastError.includes('no live endpoint') ? true : null));
      const lease = await publish(key, `127.0.0.1:${a.port}`);
      await http.waitStatus(g, 'succeed', 30_000);
      await lease.revoke();
    });

    it('round-robins direct:/// address lists', async () => {
      const gids = await runSagas(`direct:///127.0.0.1:${a.port},127.0.0.1:${b.port}/busi.Busi/Action`, 4, 'direct');
      expect(callsOf(a, gids)).toBe(2);
      expect(callsOf(b, gids)).toBe(2);
    });
  });

  describe('registering the coordinator', () => {
    it('publishes <key>/<lease id> = EndPoint, and revokes it on graceful shutdown', async () => {
      const key = `dtx-dtm-graceful-${suffix}`;
      const port = await freePort();
      const c = await startInProcess(await freshStore('sqlite', 'gzreg'), {
        GrpcPort: port,
        MicroService: { ...gozero, Target: `etcd://${ETCD}/${key}`, EndPoint: `127.0.0.1:${port}` },
      });
      try {
        const keys = await keysUnder(key);
        expect(Object.values(keys)).toEqual([`127.0.0.1:${port}`]);
        expect(Object.keys(keys)[0]).toMatch(new RegExp(`^${key}/\\d+$`));
        expect(c.registeredKey()).toBe(Object.keys(keys)[0]);
      } finally {
        await c.close();
      }
      expect(await keysUnder(key)).toEqual({});
    });

    it('loses its key within the lease time when killed, and a second instance takes over for clients', async () => {
      const key = `dtx-dtm-kill-${suffix}`;
      const store = await freshStore('sqlite', 'gzkill');
      const portA = await freePort();
      const first = await startChild(store, {
        GRPC_PORT: String(portA),
        MICRO_SERVICE_DRIVER: 'dtm-driver-gozero',
        MICRO_SERVICE_TARGET: `etcd://${ETCD}/${key}`,
        MICRO_SERVICE_END_POINT: `127.0.0.1:${portA}`,
      });
      let second: Coordinator | null = null;
      try {
        await eventually(async () => (Object.values(await keysUnder(key)).includes(`127.0.0.1:${portA}`) ? true : null));
        const portB = await freePort();
        second = await startInProcess(store, {
          GrpcPort: portB,
          MicroService: { ...gozero, Target: `etcd://${ETCD}/${key}`, EndPoint: `127.0.0.1:${portB}` },
        });
        expect(Object.values(await keysUnder(key)).sort()).toEqual([`127.0.0.1:${portA}`, `127.0.0.1:${portB}`].sort());

        const killedAt = Date.now();
        await first.kill('SIGKILL');
        // Nobody revokes a killed instance's lease: etcd expires it after the TTL (10 s).
        await eventually(async () => (Object.values(await keysUnder(key)).includes(`127.0.0.1:${portA}`) ? null : true), 30_000, 250);
        expect(Date.now() - killedAt).toBeLessThan((LEASE_TTL_SECONDS + 10) * 1000);

        // A client resolving the service now finds only the second instance, and it serves.
        const endpoints = Object.values(await keysUnder(key));
        expect(endpoints).toEqual([`127.0.0.1:${portB}`]);
        const client = new DtmGrpc(nth(endpoints, 0));
        try {
          expect(await client.call('NewGid', {})).toMatchObject({ ok: true });
        } finally {
          client.close();
        }
      } finally {
        await first.kill('SIGKILL');
        await second?.close();
      }
    }, 60_000);
  });
});
