// Requests that could never finish are refused at submit, the same over HTTP, JSON-RPC and gRPC
// and on every store (docs/compatibility.md, "Refused at submit"): 400 / InvalidArgument / a
// JSON-RPC error naming the problem, nothing stored, the server still serving. A pass that cannot
// make progress on a row that was never checked (adopted from dtm) records why as last_error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer, eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { json, type DtmAll, type DtmAnswer, type DtmKvPage, type JsonRpcReply } from './support/replies.ts';
import { DtmGrpc, GrpcBranchServer, grpc } from './support/grpc.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('refused at submit on %s', (storeName) => {
  let coordinator: Coordinator;
  let http: DtmHttp;
  let dtmGrpc: DtmGrpc;
  let base: string;
  const svc = new BranchServer();
  const busi = new GrpcBranchServer(['/busi.Busi/TransIn', '/busi.Busi/TransInRevert']);
  let n = 0;
  const gid = (label: string) => `rf-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await Promise.all([svc.start(), busi.start()]);
    coordinator = await startInProcess(await freshStore(storeName, 'refuse'));
    base = `http://127.0.0.1:${coordinator.httpPort}`;
    http = new DtmHttp(base);
    dtmGrpc = new DtmGrpc(`127.0.0.1:${coordinator.grpcPort}`);
  });
  afterAll(async () => {
    dtmGrpc?.close();
    await coordinator?.close();
    await svc.stop();
    busi.stop();
  });

  async function rpc(method: string, params: unknown): Promise<{ status: number; body: unknown }> {
    const r = await fetch(`${base}/api/json-rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'no-use', method, params }),
    });
    return { status: r.status, body: await r.json() };
  }

  /** No row has this gid (gids holding NUL cannot even be looked up on PostgreSQL: listed instead). */
  async function nothingStored(g: string) {
    const all = await http.get('all?limit=1000');
    expect(all.status).toBe(200);
    expect((json<DtmAll>(all).transactions ?? []).map((t) => t.gid)).not.toContain(g);
    if (!g.includes('\u0000') && !/[\ud800-\udfff]/.test(g)) expect(await http.query(g)).toEqual({ transaction: null, branches: [] });
  }

  const httpSaga = (g: string, extra: Record<string, unknown> = {}) => ({
    gid: g,
    trans_type: 'saga',
    steps: [
      { action: svc.url('/rf/A1'), compensate: svc.url('/rf/C1') },
      { action: svc.url('/rf/A2'), compensate: svc.url('/rf/C2') },
    ],
    payloads: ['{}', '{}'],
    ...extra,
  });
  const grpcSaga = (g: string, extra: Record<string, unknown> = {}) => ({
    Gid: g,
    TransType: 'saga',
    Steps: JSON.stringify([
      { action: busi.url('/busi.Busi/TransIn'), compensate: busi.url('/busi.Busi/TransInRevert') },
      { action: busi.url('/busi.Busi/TransIn'), compensate: busi.url('/busi.Busi/TransInRevert') },
    ]),
    BinPayloads: [Buffer.from([0x08, 0x01]), Buffer.from([0x08, 0x02])],
    ...extra,
  });

  /** Sends one bad request over HTTP and JSON-RPC (same body) and, when given, gRPC: each refused, nothing stored. */
  async function refusedEverywhere(
    label: string,
    httpBody: (g: string) => Record<string, unknown>,
    grpcReq: ((g: string) => Record<string, unknown>) | null,
    message: string,
    method = 'submit',
  ) {
    const gh = gid(`${label}-http`);
    const h = await http.post(method, httpBody(gh));
    expect(h.status, h.text).toBe(400);
    expect(json<DtmAnswer>(h).message).toContain(message);
    await nothingStored(httpBody(gh).gid as string);

    const gr = gid(`${label}-rpc`);
    const r = await rpc(method, httpBody(gr));
    expect(r.status).toBe(200);
    expect(json<JsonRpcReply>(r).error?.code, JSON.stringify(r.body)).toBe(-32603);
    expect(json<JsonRpcReply>(r).error?.message).toContain(message);
    await nothingStored(httpBody(gr).gid as string);

    if (grpcReq) {
      const gg = gid(`${label}-grpc`);
      const g = await dtmGrpc.call(method === 'submit' ? 'Submit' : 'Prepare', grpcReq(gg));
      expect(g).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect((g as { details: string }).details).toContain(message);
      await nothingStored(grpcReq(gg).Gid as string);
    }
  }

  describe('branch headers no transport can send', () => {
    it('a CR/LF in a branch_headers value', async () => {
      await refusedEverywhere(
        'crlf',
        (g) => httpSaga(g, { branch_headers: { 'X-A': 'a\r\nX-Injected: 1' } }),
        (g) => grpcSaga(g, { TransOptions: { BranchHeaders: { 'x-a': 'a\r\nx' } } }),
        'the value holds a character not allowed in an HTTP header value (\\u000d at position 1)',
      );
    });

    it('a header name that is not a token', async () => {
      await refusedEverywhere(
        'name',
        (g) => httpSaga(g, { branch_headers: { 'X Bad': '1' } }),
        (g) => grpcSaga(g, { TransOptions: { BranchHeaders: { 'x bad': '1' } } }),
        'the name is not an HTTP header name (an RFC 9110 token)',
      );
    });

    it('gRPC metadata rules for protocol grpc: -bin keys and non-ASCII values', async () => {
      const grpcBody = (g: string, h: Record<string, string>) => ({
        ...httpSaga(g, { protocol: 'grpc', branch_headers: h }),
        steps: [{ action: busi.url('/busi.Busi/TransIn'), compensate: '' }],
        payloads: [''],
      });
      await refusedEverywhere(
        'bin',
        (g) => grpcBody(g, { 'trace-bin': 'AAEC' }),
        (g) => grpcSaga(g, { TransOptions: { BranchHeaders: { 'trace-bin': 'AAEC' } } }),
        'gRPC metadata keys ending in -bin carry binary values',
      );
      await refusedEverywhere(
        'latin1',
        (g) => grpcBody(g, { 'x-note': 'caf\u00e9' }),
        (g) => grpcSaga(g, { TransOptions: { BranchHeaders: { 'x-note': 'caf\u00e9' } } }),
        'not allowed in gRPC metadata (printable ASCII only; \\u00e9 at position 3)',
      );
    });

    it('a passthrough header value that cannot be gRPC metadata', async () => {
      const g = gid('passthrough');
      const r = await fetch(`${base}/api/dtmsvr/submit`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-note': 'caf\u00e9' },
        body: JSON.stringify({
          gid: g,
          trans_type: 'saga',
          protocol: 'grpc',
          steps: [{ action: busi.url('/busi.Busi/TransIn'), compensate: '' }],
          payloads: [''],
          passthrough_headers: ['x-note'],
        }),
      });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { message: string }).message).toContain(
        'passthrough_headers "x-note": the value holds a character not allowed in gRPC metadata',
      );
      await nothingStored(g);
    });
  });

  describe('saga orders that no pass can follow', () => {
    it('a step that depends on a step that does not exist', async () => {
      const custom = JSON.stringify({ concurrent: true, orders: { 1: [7] } });
      await refusedEverywhere(
        'orders',
        (g) => httpSaga(g, { custom_data: custom }),
        (g) => grpcSaga(g, { CustomedData: custom }),
        'invalid custom_data: saga orders: step 1 depends on step 7, which does not exist (2 steps)',
      );
    });

    it('a cycle, and a self-dependency', async () => {
      const cycle = JSON.stringify({ concurrent: true, orders: { 0: [1], 1: [0] } });
      await refusedEverywhere(
        'cycle',
        (g) => httpSaga(g, { custom_data: cycle }),
        (g) => grpcSaga(g, { CustomedData: cycle }),
        'invalid custom_data: saga orders contain a cycle: 0 -> 1 -> 0',
      );
      const self = JSON.stringify({ concurrent: true, orders: { 1: [1] } });
      await refusedEverywhere(
        'self',
        (g) => httpSaga(g, { custom_data: self }),
        (g) => grpcSaga(g, { CustomedData: self }),
        'invalid custom_data: saga orders contain a cycle: 1 -> 1',
        'prepare',
      );
    });
  });

  describe('gRPC targets no driver resolves', () => {
    it('file:// and ftp:// step targets with the default driver', async () => {
      for (const url of ['file:///etc/passwd', 'ftp://x/pkg.Svc/M']) {
        const scheme = url.slice(0, url.indexOf('://'));
        await refusedEverywhere(
          scheme,
          (g) => ({ gid: g, trans_type: 'saga', protocol: 'grpc', steps: [{ action: url, compensate: '' }], payloads: [''] }),
          (g) => ({ Gid: g, TransType: 'saga', Steps: JSON.stringify([{ action: url, compensate: '' }]), BinPayloads: [Buffer.alloc(0)] }),
          `steps[0].action uses the scheme '${scheme}://', which the configured MicroService driver does not resolve`,
        );
      }
    });

    it('registered tcc and xa branch URLs', async () => {
      const g = gid('reg');
      expect((await http.post('prepare', { gid: g, trans_type: 'tcc' })).status).toBe(200);
      const message = "confirm uses the scheme 'ftp://'";
      const reg = { gid: g, trans_type: 'tcc', branch_id: '01', confirm: 'ftp://x/pkg.Svc/Confirm', cancel: busi.url('/busi.Busi/TransInRevert') };
      const h = await http.post('registerBranch', reg);
      expect(h.status).toBe(400);
      expect(json<DtmAnswer>(h).message).toContain(message);
      const r = await rpc('registerBranch', { ...reg, branch_id: '02' });
      expect(json<JsonRpcReply>(r).error).toMatchObject({ code: -32603 });
      expect(json<JsonRpcReply>(r).error?.message).toContain(message);
      const gr = await dtmGrpc.call('RegisterBranch', {
        Gid: g,
        TransType: 'tcc',
        BranchID: '03',
        Data: { confirm: 'ftp://x/pkg.Svc/Confirm', cancel: '' },
      });
      expect(gr).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect((gr as { details: string }).details).toContain(message);
      const xa = await http.post('registerBranch', { gid: g, trans_type: 'xa', branch_id: '04', url: 'file:///etc/passwd' });
      expect(xa.status).toBe(400);
      expect(json<DtmAnswer>(xa).message).toContain("url uses the scheme 'file://'");
      expect((await http.query(g)).branches).toEqual([]);
    });
  });

  describe('strings no store can hold', () => {
    it('NUL in the gid, custom_data, a step URL or query_prepared', async () => {
      await refusedEverywhere(
        'nulgid',
        (g) => httpSaga(`${g}\u0000x`),
        (g) => grpcSaga(`${g}\u0000x`),
        'gid contains a NUL character',
      );
      await refusedEverywhere(
        'nulcustom',
        (g) => httpSaga(g, { custom_data: '{"concurrent":false,"x":"\u0000"}' }),
        (g) => grpcSaga(g, { CustomedData: '{"concurrent":false,"x":"\u0000"}' }),
        'custom_data contains a NUL character (\\u0000 at position 25), which cannot be stored',
      );
      await refusedEverywhere(
        'nulurl',
        (g) => httpSaga(g, { steps: [{ action: `${svc.url('/rf/A')}?x=\u0000`, compensate: '' }], payloads: [''] }),
        (g) =>
          grpcSaga(g, {
            Steps: JSON.stringify([{ action: `${busi.url('/busi.Busi/TransIn')}\u0000`, compensate: '' }]),
            BinPayloads: [Buffer.alloc(0)],
          }),
        'steps[0].action contains a NUL character',
      );
      await refusedEverywhere(
        'nulqp',
        (g) => ({ gid: g, trans_type: 'msg', steps: [], payloads: [], query_prepared: `${svc.url('/rf/Q')}\u0000` }),
        (g) => ({ Gid: g, TransType: 'msg', Steps: '[]', QueryPrepared: `${busi.url('/busi.Busi/TransIn')}\u0000` }),
        'query_prepared contains a NUL character',
        'prepare',
      );
    });

    it('unpaired UTF-16 surrogates (HTTP and JSON-RPC: protobuf strings cannot carry them)', async () => {
      await refusedEverywhere('surrogate', (g) => httpSaga(`${g}\ud800`), null, 'gid contains an unpaired UTF-16 surrogate (not valid Unicode)');
      await refusedEverywhere(
        'surrcustom',
        (g) => httpSaga(g, { custom_data: '{"x":"\udc00"}' }),
        null,
        'custom_data contains an unpaired UTF-16 surrogate (not valid Unicode) (\\udc00 at position 6)',
      );
    });

    it('NUL in an abort rollback_reason, a branch_id or a workflow op leaves the stored rows as they were', async () => {
      const g = gid('nulabort');
      expect((await http.post('prepare', { gid: g, trans_type: 'tcc' })).status).toBe(200);
      const a = await http.post('abort', { gid: g, trans_type: 'tcc', rollback_reason: 'why\u0000' });
      expect(a.status).toBe(400);
      expect(json<DtmAnswer>(a).message).toContain('rollback_reason contains a NUL character');
      const ga = await dtmGrpc.call('Abort', { Gid: g, TransType: 'tcc', RollbackReason: 'why\u0000' });
      expect(ga).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      const reg = await http.post('registerBranch', { gid: g, trans_type: 'tcc', branch_id: '0\u00001', confirm: '', cancel: '' });
      expect(reg.status).toBe(400);
      expect(json<DtmAnswer>(reg).message).toContain('branch_id contains a NUL character');
      const greg = await dtmGrpc.call('RegisterBranch', { Gid: g, TransType: 'tcc', BranchID: '0\u00001', Data: {} });
      expect(greg).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      const q = await http.query(g);
      expect(q.transaction?.status).toBe('prepared');
      expect(q.branches).toEqual([]);
      expect((await coordinator.db.store.findGlobal(g))?.rollbackReason).toBe('');

      const w = gid('nulwf');
      expect((await http.post('prepareWorkflow', { gid: w, trans_type: 'workflow', steps: [], payloads: [] })).status).toBe(200);
      const op = await rpc('registerBranch', { gid: w, trans_type: 'workflow', branch_id: '01', op: 'act\u0000ion', status: 'succeed', data: 'r' });
      expect(json<JsonRpcReply>(op).error?.message).toContain('op contains a NUL character');
      const done = await http.post('submit', { gid: w, trans_type: 'workflow', req_extra: { status: 'succeed', result: 'r\u0000' } });
      expect(done.status).toBe(400);
      expect(json<DtmAnswer>(done).message).toContain('req_extra.result contains a NUL character');
      expect((await http.query(w)).transaction?.status).toBe('prepared');
    });

    it('NUL in a topic name or a remark', async () => {
      const t = `rf-topic-${storeName}-${Date.now()}`;
      const sub = await http.get(`subscribe?topic=${encodeURIComponent(`${t}\u0000`)}&url=${encodeURIComponent(svc.url('/rf/T'))}&remark=`);
      expect(sub.status).toBe(400);
      expect(json<DtmAnswer>(sub).message).toContain('topic contains a NUL character');
      const g = await dtmGrpc.call('Subscribe', { Topic: t, URL: busi.url('/busi.Busi/TransIn'), Remark: 'r\u0000' });
      expect(g).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect((g as { details: string }).details).toContain('remark contains a NUL character');
      expect(json<DtmKvPage>(await http.get(`queryKV?cat=topics&key=${t}`)).kv).toEqual([]);
    });

    it('payloads are bytes: a NUL in them is stored as is', async () => {
      const g = gid('nulpayload');
      const r = await http.post('submit', httpSaga(g, { payloads: ['\u0000a', '{}'], wait_result: true }));
      expect(r.status, r.text).toBe(200);
      expect(Buffer.from(nth((await http.query(g)).branches, 1).bin_data ?? '', 'base64')).toEqual(Buffer.from([0, 0x61]));
      const gg = gid('nulbin');
      expect(
        await dtmGrpc.call('Submit', grpcSaga(gg, { BinPayloads: [Buffer.from([0, 0]), Buffer.from([0])], TransOptions: { WaitResult: true } })),
      ).toMatchObject({ ok: true });
      expect(await http.status(gg)).toBe('succeed');
    });
  });

  it('a pass that cannot make progress on an unchecked row records why as last_error', async () => {
    // Rows written without the submit checks, as dtm (or an older dtx) may have left them.
    const past = new Date(Date.now() - 60_000);
    const row = (g: string, transType: string, customData: string) => ({
      gid: g,
      transType,
      status: 'submitted' as const,
      queryPrepared: '',
      protocol: 'http',
      options: '{"concurrent":false}',
      customData,
      extData: '',
      rollbackReason: '',
      nextCronInterval: 10,
      nextCronTime: past,
      owner: '',
      leaseMs: 0,
    });
    const branches = (g: string) =>
      ['01', '02'].flatMap((id) =>
        (['compensate', 'action'] as const).map((op) => ({
          gid: g,
          url: svc.url(`/rf/adopted/${op}`),
          binData: Buffer.from('{}'),
          branchId: id,
          op,
          status: 'prepared' as const,
        })),
      );
    const cases: [string, string, string][] = [
      [gid('bogus'), 'bogus', 'pass aborted: unknow trans type: bogus'],
      [gid('cycle'), 'saga', 'pass aborted: invalid custom_data: saga orders contain a cycle: 0 -> 1 -> 0'],
      [gid('badjson'), 'saga', 'pass aborted: invalid custom_data: '],
    ];
    const custom = ['', '{"concurrent":true,"orders":{"0":[1],"1":[0]}}', '{"orders":'];
    for (const [i, [g, type]] of cases.entries()) {
      expect(await coordinator.db.store.insertTrans(row(g, type, nth(custom, i)), type === 'saga' ? branches(g) : [], past)).toBe(true);
    }
    coordinator.engine.poke();
    for (const [g, , lastError] of cases) {
      const stored = await eventually(async () => {
        const r = await coordinator.db.store.findGlobal(g);
        return r?.lastError ? r : null;
      });
      expect(stored.lastError.startsWith(lastError), stored.lastError).toBe(true);
      expect(stored.status).toBe('submitted');
    }
    expect(svc.callsTo('/rf/adopted/action')).toEqual([]);
  });

  it('keeps serving after all of the above, over every transport', async () => {
    const g = gid('after');
    expect((await http.post('submit', httpSaga(g, { wait_result: true }))).status).toBe(200);
    expect(await http.status(g)).toBe('succeed');
    const gr = gid('after-rpc');
    expect(json<JsonRpcReply>(await rpc('submit', httpSaga(gr, { wait_result: true }))).error).toBeNull();
    const gg = gid('after-grpc');
    expect(await dtmGrpc.call('Submit', grpcSaga(gg, { TransOptions: { WaitResult: true } }))).toMatchObject({ ok: true });
    expect(await http.status(gg)).toBe('succeed');
  });
});

describe('gRPC target schemes follow the configured driver (go-zero)', () => {
  let coordinator: Coordinator;
  let http: DtmHttp;
  beforeAll(async () => {
    coordinator = await startInProcess(await freshStore('sqlite', 'refusegz'), {
      MicroService: { Driver: 'dtm-driver-gozero', Target: '', EndPoint: '' },
    });
    http = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
  });
  afterAll(async () => {
    await coordinator?.close();
  });

  it('accepts etcd://, discov:// and direct:/// targets and refuses other schemes, naming the ones it resolves', async () => {
    const prepare = (g: string, url: string) =>
      http.post('prepare', { gid: g, trans_type: 'saga', protocol: 'grpc', steps: [{ action: url, compensate: '' }], payloads: [''] });
    const t = Date.now();
    expect((await prepare(`gz-direct-${t}`, 'direct:///127.0.0.1:1/busi.Busi/TransIn')).status).toBe(200);
    expect((await prepare(`gz-etcd-${t}`, 'etcd://127.0.0.1:2379/busi/busi.Busi/TransIn')).status).toBe(200);
    const bad = await prepare(`gz-ftp-${t}`, 'ftp://x/pkg.Svc/M');
    expect(bad.status).toBe(400);
    expect(json<DtmAnswer>(bad).message).toContain(
      "uses the scheme 'ftp://', which the configured MicroService driver does not resolve (it resolves etcd://, discov://, direct://",
    );
    expect((await http.query(`gz-ftp-${t}`)).transaction).toBeNull();
  });
});

describe('JSON-RPC envelope errors (dtm: -32601 for an unknown method, -32700 for a numeric id)', () => {
  let coordinator: Coordinator;
  let base: string;
  beforeAll(async () => {
    coordinator = await startInProcess(await freshStore('sqlite', 'rpcenv'));
    base = `http://127.0.0.1:${coordinator.httpPort}`;
  });
  afterAll(async () => {
    await coordinator?.close();
  });

  const post = async (body: string) => {
    const r = await fetch(`${base}/api/json-rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: r.status, body: await r.json() };
  };

  it.each([
    ['no params', '{"jsonrpc":"2.0","id":"a","method":"nope"}'],
    ['object params', '{"jsonrpc":"2.0","id":"a","method":"nope","params":{"gid":"x"}}'],
    ['array params', '{"jsonrpc":"2.0","id":"a","method":"nope","params":[1,2]}'],
    ['a method of the REST API', '{"jsonrpc":"2.0","id":"a","method":"query","params":{"gid":"x"}}'],
  ])('a well-formed request for an unknown method (%s) gets -32601', async (_label, body) => {
    const r = await post(body);
    expect(r.status).toBe(200);
    expect(json<JsonRpcReply>(r).error?.code).toBe(-32601);
    expect(json<JsonRpcReply>(r).error?.message).toMatch(/^Method not found: (nope|query)$/);
    expect(json<JsonRpcReply>(r).id).toBe('a');
  });

  it('a numeric id is a parse error, as in dtm (its ids are strings), whatever the method', async () => {
    for (const method of ['nope', 'newGid']) {
      const r = await post(`{"jsonrpc":"2.0","id":1,"method":"${method}"}`);
      expect(r.status).toBe(400);
      expect(json<JsonRpcReply>(r).error).toEqual({
        code: -32700,
        message: 'Parse json error: json: cannot unmarshal number into Go struct field .id of type string',
      });
    }
  });
});
