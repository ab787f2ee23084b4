// dtm's gRPC API (dtmgimp.Dtm on GrpcPort): the same transactions as over HTTP, dtm's status
// codes for engine errors, and bad input answered with a status and a message, nothing written,
// the server still serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { eventually } from './support/branches.ts';
import { DtmHttp, startInProcess } from './support/coordinator.ts';
import { nth } from './support/checked.ts';
import { json, type DtmKvPage } from './support/replies.ts';
import { DtmGrpc, GrpcBranchServer, grpc } from './support/grpc.ts';
import { freshStore, testStores } from './support/stores.ts';

describe.each(testStores())('gRPC API on %s', (storeName) => {
  let coordinator: Coordinator;
  let dtm: DtmGrpc;
  let http: DtmHttp;
  const busi = new GrpcBranchServer(['/busi.Busi/TransOut', '/busi.Busi/TransOutRevert', '/busi.Busi/TransIn', '/busi.Busi/TransInRevert']);
  let n = 0;
  const gid = (label: string) => `grpc-${label}-${storeName}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    await busi.start();
    coordinator = await startInProcess(await freshStore(storeName, 'grpcapi'));
    dtm = new DtmGrpc(`127.0.0.1:${coordinator.grpcPort}`);
    http = new DtmHttp(`http://127.0.0.1:${coordinator.httpPort}`);
  });
  afterAll(async () => {
    dtm?.close();
    await coordinator?.close();
    busi.stop();
  });

  const saga = (g: string, extra: Record<string, unknown> = {}) => ({
    Gid: g,
    TransType: 'saga',
    Steps: JSON.stringify([
      { action: busi.url('/busi.Busi/TransOut'), compensate: busi.url('/busi.Busi/TransOutRevert') },
      { action: busi.url('/busi.Busi/TransIn'), compensate: busi.url('/busi.Busi/TransInRevert') },
    ]),
    BinPayloads: [Buffer.from([0x08, 0x1e]), Buffer.from([0x08, 0x1e, 0x10, 0x02])],
    ...extra,
  });

  it('Subscribe, Unsubscribe and DeleteTopic manage the same topics as HTTP', async () => {
    const topic = gid('topic');
    expect(await dtm.call('Subscribe', { Topic: topic, URL: busi.url('/busi.Busi/TransIn'), Remark: 'r' })).toMatchObject({ ok: true });
    const dup = await dtm.call('Subscribe', { Topic: topic, URL: busi.url('/busi.Busi/TransIn') });
    expect(dup).toMatchObject({ ok: false, code: grpc.status.UNKNOWN, details: 'this url exists' });
    const kv = await http.get(`queryKV?cat=topics&key=${topic}`);
    expect(JSON.parse(nth(json<DtmKvPage>(kv).kv, 0).v)).toEqual([{ url: busi.url('/busi.Busi/TransIn'), remark: 'r' }]);
    // a gRPC msg on the topic reaches the subscriber
    const g = gid('topicmsg');
    const r = await dtm.call('Submit', {
      Gid: g,
      TransType: 'msg',
      Steps: JSON.stringify([{ action: `topic://${topic}` }]),
      BinPayloads: [Buffer.from([0x08, 0x01])],
      TransOptions: { WaitResult: true },
    });
    expect(r).toMatchObject({ ok: true });
    expect(busi.callsTo('/busi.Busi/TransIn').some((c) => c.metadata['dtm-gid'] === g)).toBe(true);
    expect(await dtm.call('Unsubscribe', { Topic: topic, URL: 'http://nope' })).toMatchObject({ ok: false, details: 'no such an url ' });
    expect(await dtm.call('DeleteTopic', { Topic: topic })).toMatchObject({ ok: true });
    expect(await dtm.call('DeleteTopic', { Topic: topic })).toMatchObject({ ok: false, details: 'storage: NotFound' });
  });

  it('NewGid returns a fresh gid each time', async () => {
    const a = await dtm.call<{ Gid: string }>('NewGid', {});
    const b = await dtm.call<{ Gid: string }>('NewGid', {});
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(a.reply.Gid).toMatch(/^\w{10,}$/);
      expect(a.reply.Gid).not.toBe(b.reply.Gid);
    }
  });

  it('stores a gRPC saga with protocol grpc, its payload bytes and an unescaped gid', async () => {
    const g = `${gid('store')};x`;
    const r = await dtm.call('Submit', saga(g, { TransOptions: { WaitResult: true } }));
    expect(r).toMatchObject({ ok: true });
    const q = await http.query(g);
    expect(q.transaction).toMatchObject({ gid: g, status: 'succeed', protocol: 'grpc' });
    expect(busi.callsTo('/busi.Busi/TransIn').find((c) => c.metadata['dtm-gid'] === g)?.body).toEqual(Buffer.from([0x08, 0x1e, 0x10, 0x02]));
  });

  it('maps engine errors to dtm status codes: FAILURE → Aborted, panics → Internal', async () => {
    const g = gid('codes');
    busi.on('/busi.Busi/TransIn', (c) => (c.metadata['dtm-gid'] === g ? { code: grpc.status.ABORTED, details: 'FAILURE' } : {}));
    // wait_result on a saga that rolls back: Aborted, like HTTP 409.
    const failed = await dtm.call('Submit', saga(g, { TransOptions: { WaitResult: true } }));
    expect(failed).toMatchObject({ ok: false, code: grpc.status.ABORTED });
    // Submitting a finished transaction again is a FAILURE too (dtm's misspelt message kept).
    const again = await dtm.call('Submit', saga(g));
    expect(again).toMatchObject({ ok: false, code: grpc.status.ABORTED, details: "current status 'failed', cannot sumbmit. FAILURE" });
    // Aborting a gid that does not exist: dtm panics, which is Internal.
    const abort = await dtm.call('Abort', { Gid: gid('missing'), TransType: 'tcc' });
    expect(abort).toMatchObject({ ok: false, code: grpc.status.INTERNAL });
    expect((abort as { details: string }).details).toContain('no TransGlobal with gid');
  });

  it('runs TCC over gRPC: Prepare, RegisterBranch, Submit confirms with the registered payload', async () => {
    const g = gid('tcc');
    expect(await dtm.call('Prepare', { Gid: g, TransType: 'tcc' })).toMatchObject({ ok: true });
    const reg = await dtm.call('RegisterBranch', {
      Gid: g,
      TransType: 'tcc',
      BranchID: '01',
      Data: { confirm: busi.url('/busi.Busi/TransIn'), cancel: busi.url('/busi.Busi/TransInRevert') },
      BusiPayload: Buffer.from([0x08, 0x07]),
    });
    expect(reg).toMatchObject({ ok: true });
    expect(await dtm.call('Submit', { Gid: g, TransType: 'tcc', TransOptions: { WaitResult: true } })).toMatchObject({ ok: true });
    const confirm = busi.callsTo('/busi.Busi/TransIn').find((c) => c.metadata['dtm-gid'] === g);
    expect(confirm?.metadata).toMatchObject({ 'dtm-op': 'confirm', 'dtm-branch_id': '01', 'dtm-trans_type': 'tcc' });
    expect(confirm?.body).toEqual(Buffer.from([0x08, 0x07]));
  });

  it('answers PrepareWorkflow with the transaction and its progresses', async () => {
    const g = gid('wf');
    const req = {
      Gid: g,
      TransType: 'workflow',
      QueryPrepared: busi.url('/workflow.Workflow/Execute'),
      CustomedData: JSON.stringify({ name: 'wf1', data: '' }),
    };
    expect(await dtm.call('PrepareWorkflow', req)).toMatchObject({ ok: true });
    await dtm.call('RegisterBranch', {
      Gid: g,
      TransType: 'workflow',
      BranchID: '01',
      Data: { status: 'succeed', op: 'action' },
      BusiPayload: Buffer.from('r1'),
    });
    const r = await dtm.call<{ Transaction: Record<string, string>; Progresses: Record<string, unknown>[] }>('PrepareWorkflow', req);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.reply.Transaction).toMatchObject({ Gid: g, Status: 'prepared' });
      expect(r.reply.Progresses).toEqual([{ Status: 'succeed', BinData: Buffer.from('r1'), BranchID: '01', Op: 'action' }]);
    }
  });

  describe('bad input', () => {
    const nothingWritten = async (g: string) => expect((await http.query(g)).transaction).toBeNull();

    it.each([
      ['an unknown trans_type', { TransType: 'bogus' }, 'unknow trans type: bogus'],
      ['an empty gid', { Gid: '' }, 'gid is required'],
      ['malformed Steps JSON', { Steps: '[{"action":' }, 'Steps is not valid JSON'],
      ['Steps that are not objects of strings', { Steps: '[{"action":1}]' }, 'steps[0].action must be a string'],
      ['fewer BinPayloads than steps', { BinPayloads: [Buffer.from('x')] }, '2 steps but only 1 payloads'],
      [
        'a step URL that is no gRPC target',
        { Steps: JSON.stringify([{ action: 'nowhere', compensate: '' }]), BinPayloads: [Buffer.alloc(0)] },
        'steps[0].action is not a gRPC target',
      ],
    ])('rejects %s with InvalidArgument and writes nothing', async (_label, change, message) => {
      const g = gid('bad');
      const r = await dtm.call('Submit', { ...saga(g), ...change });
      expect(r).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect((r as { details: string }).details).toContain(message);
      await nothingWritten(g);
    });

    it('rejects a request message that is not valid protobuf, and keeps serving', async () => {
      const r = await dtm.raw('/dtmgimp.Dtm/Submit', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      expect(r.code).not.toBe(grpc.status.OK);
      expect(r.details).not.toBe('');
      expect(await dtm.call('NewGid', {})).toMatchObject({ ok: true });
    });

    it('answers Unimplemented for an unknown method or service, and keeps serving', async () => {
      expect((await dtm.raw('/dtmgimp.Dtm/Nope', Buffer.alloc(0))).code).toBe(grpc.status.UNIMPLEMENTED);
      expect((await dtm.raw('/other.Svc/Submit', Buffer.alloc(0))).code).toBe(grpc.status.UNIMPLEMENTED);
      expect(await dtm.call('Subscribe', { Topic: '', URL: 'x' })).toMatchObject({ ok: false, details: 'empty topic' });
      expect(await dtm.call('NewGid', {})).toMatchObject({ ok: true });
    });
  });

  it('serves gRPC server reflection', async () => {
    // grpcurl's first question: list the services.
    const client = new grpc.Client(`127.0.0.1:${coordinator.grpcPort}`, grpc.credentials.createInsecure());
    // ServerReflectionRequest { string list_services = 7; } / ServerReflectionResponse.list_services_response = 6
    const req = Buffer.concat([Buffer.from([0x3a, 1]), Buffer.from('*')]);
    const body = await new Promise<Buffer>((resolve, reject) => {
      const stream = client.makeBidiStreamRequest(
        '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
        (b: Buffer) => b,
        (b: Buffer) => b,
      );
      stream.on('data', (b: Buffer) => {
        resolve(b);
        stream.end();
      });
      stream.on('error', reject);
      stream.write(req);
    });
    client.close();
    expect(body.toString('latin1')).toContain('dtmgimp.Dtm');
  });

  it('processes a saga submitted without WaitResult in the background', async () => {
    const g = gid('async');
    expect(await dtm.call('Submit', saga(g))).toMatchObject({ ok: true });
    await eventually(async () => ((await http.status(g)) === 'succeed' ? true : null));
  });
});
