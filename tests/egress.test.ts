// The egress policy of branch calls (BranchCallPolicy.*, docs/security.md "Egress policy"): what is
// decidable when a request arrives is refused with 400 naming the rule and nothing is stored; what
// needs DNS is refused at the connection (the attempt log says why, the branch is retried); every
// redirect hop is checked again. Every address the coordinator could call here is loopback: the
// default refusal of link-local and metadata addresses is proven at prepare / submit, before any
// call exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DENY } from '@dtx/config';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { json, type DtmAll, type DtmKvPage } from './support/replies.ts';
import { DtmGrpc, GrpcBranchServer, grpc } from './support/grpc.ts';
import { freshStore, testStores, type StoreName } from './support/stores.ts';

const METADATA = 'http://169.254.169.254/latest/meta-data/iam';
const LINK_LOCAL_V6 = 'http://[fe80::1]:8080/busi/TransIn';

function policy(allow: string, deny: string) {
  return { BranchCallPolicy: { Allow: allow, Deny: deny, MaxRedirects: 3 } };
}

async function coordinatorWith(storeName: StoreName, label: string, allow: string, deny: string): Promise<{ c: Coordinator; http: DtmHttp }> {
  const c = await startInProcess(await freshStore(storeName, label), policy(allow, deny));
  return { c, http: new DtmHttp(`http://127.0.0.1:${c.httpPort}`) };
}

const saga = (gid: string, action: string, compensate = action) => ({
  gid,
  trans_type: 'saga',
  steps: [{ action, compensate }],
  payloads: ['{}'],
});

describe.each(testStores())('egress policy on %s', (storeName) => {
  const internal = new BranchServer(); // the "internal" service, on 127.0.0.2
  const svc = new BranchServer(); // an ordinary branch service, on 127.0.0.1
  const grpcBusi = new GrpcBranchServer(['/busi.Busi/TransIn']);
  let n = 0;
  const gid = (label: string) => `eg-${label}-${storeName}-${++n}-${Date.now()}`;
  /** Deny names the internal server; the default entries stay. */
  let denying: { c: Coordinator; http: DtmHttp };

  beforeAll(async () => {
    await Promise.all([internal.start(0, '127.0.0.2'), svc.start(), grpcBusi.start()]);
    denying = await coordinatorWith(storeName, 'egdeny', '', `${DEFAULT_DENY},127.0.0.2`);
  });
  afterAll(async () => {
    await denying?.c.close();
    await Promise.all([internal.stop(), svc.stop()]);
    grpcBusi.stop();
  });

  async function nothingStored(http: DtmHttp, g: string) {
    expect(await http.query(g)).toEqual({ transaction: null, branches: [] });
    const all = json<DtmAll>(await http.get('all?limit=1000'));
    expect((all.transactions ?? []).map((t) => t.gid)).not.toContain(g);
  }

  it('refuses link-local and metadata URLs at prepare and submit with 400 naming the rule (HTTP, JSON-RPC, gRPC)', async () => {
    const { http, c } = denying;
    for (const url of [METADATA, LINK_LOCAL_V6]) {
      for (const op of ['prepare', 'submit']) {
        const g = gid(op);
        const r = await http.post(op, saga(g, url));
        expect(r.status, r.text).toBe(400);
        expect(r.text).toMatch(/steps\[0\]\.action .* is refused by BranchCallPolicy\.Deny entry '(169\.254\.0\.0\/16|fe80::\/10)'/);
        await nothingStored(http, g);
      }
    }
    // a msg's query_prepared is called too
    const m = gid('msg');
    const r = await http.post('prepare', {
      gid: m,
      trans_type: 'msg',
      steps: [{ action: svc.url('/eg/ok') }],
      payloads: ['{}'],
      query_prepared: 'http://169.254.170.2/v2/credentials',
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain("query_prepared 'http://169.254.170.2/v2/credentials' is refused by BranchCallPolicy.Deny entry '169.254.0.0/16'");
    await nothingStored(http, m);

    // JSON-RPC
    const j = gid('jrpc');
    const jr = await fetch(`http://127.0.0.1:${c.httpPort}/api/json-rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: '1', method: 'submit', params: saga(j, METADATA) }),
    });
    const jb = (await jr.json()) as { error: { message: string } | null };
    expect(jb.error?.message).toContain("is refused by BranchCallPolicy.Deny entry '169.254.0.0/16'");
    await nothingStored(http, j);

    // gRPC: an HTTP step and a gRPC target on the metadata address
    const dtm = new DtmGrpc(`127.0.0.1:${c.grpcPort}`);
    try {
      const g1 = gid('grpc');
      const steps = JSON.stringify([{ action: '169.254.169.254:50051/busi.Busi/TransIn', compensate: '' }]);
      const r1 = await dtm.call('Submit', { Gid: g1, TransType: 'saga', Steps: steps, BinPayloads: [Buffer.from('x')] });
      expect(r1.ok).toBe(false);
      if (!r1.ok) {
        expect(r1.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(r1.details).toContain("is refused by BranchCallPolicy.Deny entry '169.254.0.0/16'");
      }
      await nothingStored(http, g1);
    } finally {
      dtm.close();
    }
  });

  it('refuses a workflow whose resume URL the policy refuses at prepareWorkflow, storing nothing', async () => {
    const custom = JSON.stringify({ name: 'transfer', data: Buffer.from('{}').toString('base64') });
    for (const [url, rule] of [
      [METADATA, '169.254.0.0/16'],
      [internal.url('/wf/resume'), '127.0.0.2'],
    ] as const) {
      const g = gid('wf');
      const r = await denying.http.post('prepareWorkflow', {
        gid: g,
        trans_type: 'workflow',
        protocol: 'http',
        query_prepared: url,
        custom_data: custom,
      });
      expect(r.status, r.text).toBe(400);
      expect(r.text).toContain(`query_prepared '${url}' is refused by BranchCallPolicy.Deny entry '${rule}'`);
      await nothingStored(denying.http, g);
    }
    expect(internal.calls).toEqual([]);
  });

  it('refuses branches of the json-rpc protocol like HTTP ones', async () => {
    const g = gid('jproto');
    const r = await denying.http.post('submit', { ...saga(g, internal.url('/eg/jrpc')), protocol: 'json-rpc' });
    expect(r.status, r.text).toBe(400);
    expect(r.text).toContain("is refused by BranchCallPolicy.Deny entry '127.0.0.2'");
    await nothingStored(denying.http, g);
    expect(internal.calls).toEqual([]);
  });

  it('refuses a denied loopback server at submit when the URL names its address', async () => {
    const g = gid('lit');
    const r = await denying.http.post('submit', saga(g, internal.url('/eg/secret')));
    expect(r.status).toBe(400);
    expect(r.text).toContain("is refused by BranchCallPolicy.Deny entry '127.0.0.2'");
    await nothingStored(denying.http, g);
    // a gRPC target too
    const g2 = gid('litg');
    const r2 = await denying.http.post('submit', { ...saga(g2, `127.0.0.2:${grpcBusi.port}/busi.Busi/TransIn`), protocol: 'grpc' });
    expect(r2.status).toBe(400);
    expect(r2.text).toContain("BranchCallPolicy.Deny entry '127.0.0.2'");
    expect(internal.calls).toEqual([]);
  });

  it('refuses the redirect hop from an allowed server to a denied one, records why, and retries', async () => {
    const g = gid('redir');
    svc.on('/eg/redirect', { status: 307, body: '', location: internal.url('/eg/secret') });
    const r = await denying.http.post('submit', saga(g, svc.url('/eg/redirect')));
    expect(r.status, r.text).toBe(200);
    const attempt = await eventually(async () => {
      await denying.c.engine.flushAttempts();
      return (await denying.c.db.store.findAttempts(g, 10)).find((a) => a.op === 'action');
    });
    expect(attempt.outcome).toBe('error');
    expect(attempt.error).toContain(`call to ${internal.url('/eg/secret')}`);
    expect(attempt.error).toContain("refused by BranchCallPolicy.Deny entry '127.0.0.2'");
    expect(svc.callsTo('/eg/redirect', g)).toHaveLength(1);
    expect(internal.calls).toEqual([]);
    // a branch error: the transaction stays submitted, to be retried after a back-off
    const q = await denying.http.query(g);
    expect(q.transaction?.status).toBe('submitted');
    expect(q.branches.find((b) => b.op === 'action')?.status).toBe('prepared');
  });

  it('refuses topic subscribers that are not branch URLs or that the policy refuses, storing nothing', async () => {
    const { http } = denying;
    for (const [url, why] of [
      ['ftp://nope', "url is not a gRPC target (host:port/package.Service/Method) or an http(s) URL: 'ftp://nope'"],
      [METADATA, "BranchCallPolicy.Deny entry '169.254.0.0/16'"],
    ] as const) {
      const r = await http.get(`subscribe?topic=eg-topic&url=${encodeURIComponent(url)}&remark=x`);
      expect(r.status, r.text).toBe(400);
      expect(r.text).toContain(why);
    }
    const kv = json<DtmKvPage>(await http.get('queryKV?cat=topics&key=eg-topic'));
    expect(kv.kv).toEqual([]);
    const ok = await http.get(`subscribe?topic=eg-topic&url=${encodeURIComponent(svc.url('/eg/sub'))}&remark=x`);
    expect(ok.status, ok.text).toBe(200);
  });

  describe('a host name denied by address', () => {
    // Deny 127.0.0.1 and ::1: `localhost` passes at submit (it needs DNS) and is refused at the
    // connection, over HTTP and gRPC.
    let d: { c: Coordinator; http: DtmHttp };
    beforeAll(async () => {
      d = await coordinatorWith(storeName, 'egdns', '', '127.0.0.1,::1');
    });
    afterAll(async () => d?.c.close());

    it.each(['http', 'grpc'])('refuses the resolved address over %s and records the reason', async (protocol) => {
      const g = gid(`dns-${protocol}`);
      const url = protocol === 'http' ? `http://localhost:${svc.port}/eg/dns` : `localhost:${grpcBusi.port}/busi.Busi/TransIn`;
      const before = grpcBusi.callsTo('/busi.Busi/TransIn').length;
      const r = await d.http.post('submit', { ...saga(g, url, ''), protocol });
      expect(r.status, r.text).toBe(200);
      const attempt = await eventually(async () => {
        await d.c.engine.flushAttempts();
        return (await d.c.db.store.findAttempts(g, 10)).find((a) => a.op === 'action');
      });
      expect(attempt.outcome).toBe('error');
      expect(attempt.error).toMatch(/refused by BranchCallPolicy\.Deny entry '(127\.0\.0\.1|::1)'/);
      expect(svc.callsTo('/eg/dns')).toEqual([]);
      expect(grpcBusi.callsTo('/busi.Busi/TransIn').length).toBe(before);
      expect(await d.http.status(g)).toBe('submitted');
    });
  });

  describe('an allow list', () => {
    let a: { c: Coordinator; http: DtmHttp };
    beforeAll(async () => {
      a = await coordinatorWith(storeName, 'egallow', '127.0.0.2', DEFAULT_DENY);
    });
    afterAll(async () => a?.c.close());

    it('reaches the server it names and refuses others', async () => {
      const g = gid('allow');
      const r = await a.http.post('submit', saga(g, internal.url('/eg/allowed')));
      expect(r.status, r.text).toBe(200);
      await a.http.waitStatus(g, 'succeed');
      expect(internal.callsTo('/eg/allowed', g)).toHaveLength(1);

      const g2 = gid('notallowed');
      const r2 = await a.http.post('submit', saga(g2, svc.url('/eg/other')));
      expect(r2.status).toBe(400);
      expect(r2.text).toContain('is refused by BranchCallPolicy.Allow: no entry matches address 127.0.0.1');
      await nothingStored(a.http, g2);
      expect(svc.callsTo('/eg/other')).toEqual([]);
    });
  });
});

describe('the alert webhook under the egress policy', () => {
  it('refuses to start when AlertWebHook is an address the policy denies, naming the key and the rule', async () => {
    const store = await freshStore('sqlite', 'eghook');
    await expect(startInProcess(store, { AlertWebHook: 'http://169.254.169.254/hook' })).rejects.toThrow(
      "AlertWebHook (ALERT_WEB_HOOK) 'http://169.254.169.254/hook' is refused by BranchCallPolicy.Deny entry '169.254.0.0/16'",
    );
    await expect(startInProcess(store, { AlertWebHook: 'http://127.0.0.2:9/hook', ...policy('', `${DEFAULT_DENY},127.0.0.2`) })).rejects.toThrow(
      "is refused by BranchCallPolicy.Deny entry '127.0.0.2'",
    );
  });
});
