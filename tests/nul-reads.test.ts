// A NUL character (or an unpaired UTF-16 surrogate) in a gid, topic, KV key or filter that a READ
// or a by-key action names: no store holds such text (submits refuse it: docs/compatibility.md,
// "Refused at submit"), so nothing can match it. Every store answers what dtm answers for a key
// that does not exist, never a 500 (PostgreSQL refuses NUL in a query parameter), and the
// server keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { json, type DtmAll, type DtmAnswer } from './support/replies.ts';
import { DtmGrpc, grpc } from './support/grpc.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('NUL in read routes on %s', (storeName) => {
  let coordinator: Coordinator;
  let http: DtmHttp;
  let dtmGrpc: DtmGrpc;
  const gid = `nul-${storeName}-${Date.now()}`;

  beforeAll(async () => {
    coordinator = await startInProcess(await freshStore(storeName, 'nulread'));
    http = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
    dtmGrpc = new DtmGrpc(`127.0.0.1:${coordinator.grpcPort}`);
    expect((await http.post('prepare', { gid, trans_type: 'tcc' })).status).toBe(200);
  });
  afterAll(async () => {
    dtmGrpc?.close();
    await coordinator?.close();
  });

  // (an unpaired surrogate cannot be sent in a URL: percent-decoding gives U+FFFD instead)
  for (const [name, bad] of [['NUL', 'x\u0000']] as const) {
    it(`query, all and KV reads with ${name} answer "not found"`, async () => {
      const q = encodeURIComponent(bad);
      expect(await http.get(`query?gid=${q}`)).toMatchObject({ status: 200, body: { transaction: null, branches: [] } });
      // a gid that cannot exist after a real one: still nothing (no prefix match)
      expect(await http.get(`query?gid=${encodeURIComponent(gid + bad)}`)).toMatchObject({ status: 200, body: { transaction: null, branches: [] } });
      expect(await http.get(`all?gid=${q}`)).toMatchObject({ status: 200, body: { transactions: null } });
      for (const filter of ['status', 'transType']) {
        const r = await http.get(`all?${filter}=${q}`);
        expect(r.status).toBe(200);
        expect(json<DtmAll>(r).transactions).toEqual([]);
      }
      expect(await http.get(`queryKV?cat=${q}&key=${q}`)).toMatchObject({ status: 200, body: { kv: [] } });
      expect(await http.get(`queryKV?cat=topics&key=${q}`)).toMatchObject({ status: 200, body: { kv: [] } });
      expect(await http.get(`scanKV?cat=${q}`)).toMatchObject({ status: 200, body: { kv: [], next_position: '' } });
    });

    it(`by-gid actions and topic changes with ${name} are refused with 400, or answer as for a topic that does not exist`, async () => {
      // refused as at submit (dtm answers a gid that does not exist with a 500: not this)
      for (const path of ['forceStop', 'resetNextCronTime']) {
        const r = await http.post(path, { gid: gid + bad });
        expect(r.status).toBe(400);
        expect(json<DtmAnswer>(r).message).toMatch(/gid contains a NUL character/);
      }
      const unsub = await http.get(`unsubscribe?topic=${encodeURIComponent(bad)}&url=${encodeURIComponent('http://127.0.0.1:1/x')}`);
      expect(unsub.status).toBeLessThan(500);
      const del = await fetch(`${http.base}/api/dtmsvr/topic/${encodeURIComponent(bad)}`, { method: 'DELETE' });
      expect(del.status).toBeLessThan(500);
      const sub = await http.get(`subscribe?topic=${encodeURIComponent(bad)}&url=${encodeURIComponent('http://127.0.0.1:1/x')}`);
      expect(sub.status).toBe(400);
      expect(json<DtmAnswer>(sub).message).toMatch(/topic contains/);
      const gsub = await dtmGrpc.call('Subscribe', { Topic: bad, URL: 'http://127.0.0.1:1/x', Remark: '' });
      expect(gsub).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      const gunsub = await dtmGrpc.call('Unsubscribe', { Topic: bad, URL: 'http://127.0.0.1:1/x' });
      expect(gunsub).toMatchObject({ ok: false });
      expect((gunsub as { code: number }).code).not.toBe(grpc.status.INTERNAL);
      expect((gunsub as { code: number }).code).not.toBe(grpc.status.UNKNOWN);
      // still serving, and the real transaction is untouched
      expect((await http.query(gid)).transaction?.status).toBe('prepared');
    });
  }
});
