// The HTTP API surface: every route's reply shape and status code, and bad input: each gets a
// clear error, nothing is written, and the server keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth, present } from './support/checked.ts';
import { json, type DtmAll, type DtmAnswer, type DtmResetCron, type DtmVersion } from './support/replies.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('HTTP API on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmHttp;
  let base: string;
  const svc = new BranchServer();
  let n = 0;
  const gid = (label: string) => `api-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await svc.start();
    coordinator = await startInProcess(await freshStore(storeName, 'api'), { MaxBodyBytes: 64 * 1024 });
    base = `http://127.0.0.1:${coordinator.httpPort}`;
    dtm = new DtmHttp(base);
  });
  afterAll(async () => {
    await coordinator?.close();
    await svc.stop();
  });

  const saga = (g: string, extra: Record<string, unknown> = {}) => ({
    gid: g,
    trans_type: 'saga',
    steps: [{ action: svc.url('/api/A'), compensate: svc.url('/api/C') }],
    payloads: ['{}'],
    ...extra,
  });

  /** Nothing was stored for this gid. */
  async function nothingStored(g: string) {
    const q = await dtm.query(g);
    expect(q.transaction).toBeNull();
    expect(q.branches).toEqual([]);
  }

  describe('routes', () => {
    it('runs retention in a database it created (Retention.Mode auto)', () => {
      expect(coordinator.retention).not.toBeNull();
    });

    it('version, newGid and ping', async () => {
      const v = await dtm.get('version');
      expect(v.status).toBe(200);
      expect(json<DtmVersion>(v).version).toMatch(/^v\d+\.\d+\.\d+/);
      const g = await dtm.get('newGid');
      expect(json<DtmAnswer>(g).dtm_result).toBe('SUCCESS');
      expect(json<DtmAnswer>(g).gid).toMatch(/^[2-9A-HJ-NP-Za-km-z]{22}$/);
      expect(json<DtmAnswer>(await dtm.get('newGid')).gid).not.toBe(json<DtmAnswer>(g).gid);
      for (const method of ['GET', 'POST', 'PUT']) {
        const p = await fetch(`${base}/api/ping`, { method });
        expect(await p.json()).toEqual({ msg: 'pong' });
      }
    });

    it('answers unknown paths and wrong methods with a plain 404, and redirects trailing slashes', async () => {
      const r = await fetch(`${base}/api/dtmsvr/nope`);
      expect(r.status).toBe(404);
      expect(await r.text()).toBe('404 page not found');
      const wrongMethod = await fetch(`${base}/api/dtmsvr/submit`);
      expect(wrongMethod.status).toBe(404);
      const slash = await fetch(`${base}/api/dtmsvr/version/`, { redirect: 'manual' });
      expect(slash.status).toBe(301);
      expect(slash.headers.get('location')).toBe('/api/dtmsvr/version');
      const postSlash = await fetch(`${base}/api/dtmsvr/submit/`, { method: 'POST', redirect: 'manual', body: '{}' });
      expect(postSlash.status).toBe(307);
    });

    it('query returns null for an unknown gid and 500 without a gid', async () => {
      const q = await dtm.get('query?gid=unknown-gid');
      expect(q.status).toBe(200);
      expect(q.body).toEqual({ transaction: null, branches: [] });
      const none = await dtm.get('query');
      expect(none.status).toBe(500);
      expect(none.body).toEqual({ message: 'no gid specified' });
    });

    it('query renders dtm record shapes', async () => {
      const g = gid('shape');
      await dtm.post('submit', saga(g, { wait_result: true }));
      const q = await dtm.query(g);
      const t = present(q.transaction, 'the transaction');
      expect(Object.keys(t)).toEqual([
        'id',
        'create_time',
        'update_time',
        'gid',
        'trans_type',
        'status',
        'protocol',
        'finish_time',
        'options',
        'next_cron_interval',
        'next_cron_time',
        'concurrent',
      ]);
      expect(t.create_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      expect(t.options).toBe('{"wait_result":true,"concurrent":false}');
      expect(t.concurrent).toBe(false);
      expect(Object.keys(nth(q.branches, 1))).toEqual([
        'id',
        'create_time',
        'update_time',
        'gid',
        'url',
        'bin_data',
        'branch_id',
        'op',
        'status',
        'finish_time',
      ]);
      expect(Buffer.from(nth(q.branches, 1).bin_data ?? '', 'base64').toString()).toBe('{}');
    });

    it('all lists newest first with cursor paging and filters', async () => {
      const gids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const g = gid(`list${i}`);
        gids.push(g);
        await dtm.post('prepare', { gid: g, trans_type: i % 2 ? 'tcc' : 'msg' });
      }
      const page1 = await dtm.get('all?limit=2');
      expect(json<DtmAll>(page1).transactions?.map((t) => t.gid)).toEqual([gids[4], gids[3]]);
      expect(json<DtmAll>(page1).next_position).toMatch(/^\d+$/);
      const page2 = await dtm.get(`all?limit=2&position=${json<DtmAll>(page1).next_position}`);
      expect(json<DtmAll>(page2).transactions?.map((t) => t.gid)).toEqual([gids[2], gids[1]]);
      const tcc = await dtm.get('all?limit=100&transType=tcc&status=prepared');
      const tccGids = json<DtmAll>(tcc).transactions?.map((t) => t.gid);
      expect(tccGids).toContain(gids[3]);
      expect(tccGids).not.toContain(gids[4]);
      expect(json<DtmAll>(tcc).next_position).toBe('');
      const one = await dtm.get(`all?gid=${gids[0]}&position=7`);
      expect(json<DtmAll>(one).transactions?.map((t) => t.gid)).toEqual([gids[0]]);
      expect(json<DtmAll>(one).next_position).toBe('7');
      expect(json<DtmAll>(await dtm.get('all?gid=no-such-gid')).transactions).toBeNull();
      const future = Date.now() + 3_600_000;
      expect(json<DtmAll>(await dtm.get(`all?createTimeStart=${future}`)).transactions).toEqual([]);
      expect((await dtm.get('all?position=abc')).status).toBe(400);
    });

    it('forceStop fails an unfinished transaction without calling branches', async () => {
      const g = gid('force');
      await dtm.post('prepare', { gid: g, trans_type: 'tcc' });
      await dtm.post('registerBranch', { gid: g, trans_type: 'tcc', branch_id: '01', confirm: svc.url('/f/C'), cancel: svc.url('/f/X') });
      expect((await dtm.post('forceStop', { gid: g })).status).toBe(200);
      expect(await dtm.status(g)).toBe('failed');
      const again = await dtm.post('forceStop', { gid: g });
      expect(again.status).toBe(409);
      expect(again.body).toEqual({ dtm_result: 'FAILURE', message: 'global transaction force stop error. status: failed. error: FAILURE' });
      expect(svc.trail(g)).toEqual([]);
      expect((await dtm.post('forceStop', { gid: 'no-such-gid' })).status).toBe(500);
    });

    it('resetNextCronTime and resetCronTime make transactions due now', async () => {
      const g = gid('reset');
      await dtm.post('prepare', { gid: g, trans_type: 'tcc', retry_interval: 3600 });
      const before = Date.parse((await dtm.query(g)).transaction?.next_cron_time ?? '');
      expect(before).toBeGreaterThan(Date.now() + 3_000_000);
      const r = await dtm.get('resetCronTime?timeout=600&limit=1000');
      expect(r.status).toBe(200);
      expect(json<DtmResetCron>(r).succeed_count).toBeGreaterThanOrEqual(1);
      expect(json<DtmResetCron>(r).has_remaining).toBe(false);
      expect(Date.parse((await dtm.query(g)).transaction?.next_cron_time ?? '')).toBeLessThan(Date.now() + 20_000);
      expect((await dtm.post('resetNextCronTime', { gid: g })).status).toBe(200);
      expect((await dtm.post('resetNextCronTime', { gid: 'no-such-gid' })).status).toBe(500);
    });

    it('submit of an already submitted saga is accepted and does not call branches twice', async () => {
      const g = gid('dup');
      expect((await dtm.post('submit', saga(g, { wait_result: true }))).status).toBe(200);
      const again = await dtm.post('submit', saga(g));
      expect(again.status).toBe(409);
      expect(json<DtmAnswer>(again).message).toBe("current status 'succeed', cannot sumbmit. FAILURE");
      svc.on('/api/Slow', { delayMs: 800 });
      const g2 = gid('dup2');
      const body = { gid: g2, trans_type: 'saga', steps: [{ action: svc.url('/api/Slow'), compensate: '' }], payloads: ['{}'] };
      expect((await dtm.post('submit', body)).status).toBe(200);
      expect((await dtm.post('submit', body)).status).toBe(200);
      await dtm.waitStatus(g2, 'succeed');
      expect(svc.callsTo('/api/Slow', g2)).toHaveLength(1);
    });
  });

  describe('bad input', () => {
    async function expectRejected(body: unknown, status: number, message: RegExp | string, path = 'submit') {
      const r = await dtm.post(path, body);
      expect(r.status).toBe(status);
      if (typeof message === 'string') expect(json<DtmAnswer>(r).message).toBe(message);
      else expect(json<DtmAnswer>(r).message).toMatch(message);
      return r;
    }

    it('malformed JSON', async () => {
      await expectRejected('{"gid": "x", ', 400, /not valid JSON/);
      await expectRejected('', 400, /empty/);
      await expectRejected('[1,2]', 400, /must be a JSON object/);
    });

    it('missing or oversized gid', async () => {
      await expectRejected({ trans_type: 'saga', steps: [], payloads: [] }, 400, 'gid is required');
      const long = 'g'.repeat(129);
      await expectRejected(saga(long), 400, 'gid is longer than 128 bytes');
      await nothingStored(long);
    });

    it('unknown trans_type', async () => {
      const g = gid('type');
      await expectRejected({ gid: g, trans_type: 'sagaa' }, 400, 'unknow trans type: sagaa');
      await expectRejected({ gid: g, trans_type: 'sagaa' }, 400, 'unknow trans type: sagaa', 'prepare');
      await nothingStored(g);
    });

    it('steps that are not URLs, and missing payloads', async () => {
      const g = gid('steps');
      await expectRejected(
        { gid: g, trans_type: 'saga', steps: [{ action: 'not a url', compensate: '' }], payloads: ['{}'] },
        400,
        /steps\[0\]\.action is not an http\(s\) URL/,
      );
      await expectRejected({ gid: g, trans_type: 'saga', steps: [{ action: svc.url('/a') }], payloads: [] }, 400, /1 steps but only 0 payloads/);
      await expectRejected({ gid: g, trans_type: 'saga', steps: [{ action: 5 }], payloads: ['{}'] }, 400, /steps\[0\]\.action must be a string/);
      await expectRejected({ ...saga(g), wait_result: 'yes' }, 400, /wait_result/);
      await expectRejected({ ...saga(g), timeout_to_fail: 1.5 }, 400, /timeout_to_fail/);
      await expectRejected({ ...saga(g), custom_data: '{"orders":{"x":[1]}}' }, 400, /invalid custom_data/);
      await nothingStored(g);
    });

    it('a body over the configured size', async () => {
      const g = gid('big');
      const r = await dtm.post('submit', saga(g, { payloads: ['x'.repeat(70 * 1024)] }));
      expect(r.status).toBe(413);
      expect(json<DtmAnswer>(r).message).toMatch(/larger than 65536 bytes/);
      await nothingStored(g);
    });

    it('registerBranch on a saga, and with non-string values', async () => {
      const g = gid('reg');
      await dtm.post('submit', saga(g, { wait_result: true }));
      const asSaga = await dtm.post('registerBranch', { gid: g, trans_type: 'saga', branch_id: '01' });
      expect(asSaga.status).toBe(500);
      expect(asSaga.body).toEqual({ message: 'unknow trans type: saga' });
      const asTcc = await dtm.post('registerBranch', { gid: g, trans_type: 'tcc', branch_id: '09', confirm: '', cancel: '' });
      expect(asTcc.status).toBe(409);
      expect(json<DtmAnswer>(asTcc).message).toBe(`no trans with gid: ${g} status: prepared found FAILURE`);
      const nonString = await dtm.post('registerBranch', { gid: g, trans_type: 'tcc', branch_id: 1 });
      expect(nonString.status).toBe(400);
      expect(json<DtmAnswer>(nonString).message).toMatch(/cannot unmarshal number into Go value of type string/);
      expect((await dtm.query(g)).branches).toHaveLength(2);
    });

    it('abort of a saga', async () => {
      const g = gid('abortsaga');
      await dtm.post('submit', saga(g, { wait_result: true }));
      const r = await dtm.post('abort', { gid: g, trans_type: 'saga' });
      expect(r.status).toBe(409);
      expect(r.body).toEqual({ dtm_result: 'FAILURE', message: "trans type: 'saga' current status 'succeed', cannot abort. FAILURE" });
      const unknown = await dtm.post('abort', { gid: 'no-such-gid', trans_type: 'tcc' });
      expect(unknown.status).toBe(500);
      expect(json<DtmAnswer>(unknown).message).toBe('no TransGlobal with gid: no-such-gid found');
    });

    it('prepare of a gid that is no longer prepared', async () => {
      const g = gid('prep');
      await dtm.post('submit', saga(g, { wait_result: true }));
      const r = await dtm.post('prepare', saga(g));
      expect(r.status).toBe(409);
      expect(json<DtmAnswer>(r).message).toBe("current status 'succeed', cannot prepare. FAILURE");
    });

    it('the server keeps serving after all of the above', async () => {
      const g = gid('after');
      expect((await dtm.post('submit', saga(g, { wait_result: true }))).status).toBe(200);
      expect(await dtm.status(g)).toBe('succeed');
    });
  });
});
