// The client's `token` option against a coordinator with ApiAuth.Token set (docs/security.md,
// "API tokens"): without it every call is refused and nothing runs; with it a saga runs, over
// HTTP and over gRPC. Only against dtx (a dtm has no tokens).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Coordinator } from '@dtx/coordinator';
import { BranchServer } from '../../../tests/support/branches.ts';
import { startInProcess } from '../../../tests/support/coordinator.ts';
import { freshStore } from '../../../tests/support/stores.ts';
import { DtmClient, DtmError } from '../src/index.ts';

const TOKEN = 'client-test-service-token-0123456789abcdef';

describe.runIf(!process.env.DTX_CLIENT_TEST_URL)('the token option', () => {
  let c: Coordinator;
  const svc = new BranchServer();
  const urls = () => ({ http: `http://127.0.0.1:${c.httpPort}`, grpc: `grpc://127.0.0.1:${c.grpcPort}` });

  beforeAll(async () => {
    await svc.start();
    c = await startInProcess(await freshStore('sqlite', 'client_token'), { ApiAuth: { Token: TOKEN, OperatorToken: '' } });
  });
  afterAll(async () => {
    await c?.close();
    await svc.stop();
  });

  const saga = (dtm: DtmClient, gid: string) =>
    dtm
      .saga(gid, { waitResult: true })
      .add(svc.url('/TransOut'), svc.url('/TransOutRevert'), { amount: 30 })
      .add(svc.url('/TransIn'), svc.url('/TransInRevert'), { amount: 30 });

  it.each(['http', 'grpc'] as const)('over %s: refused without it, a saga runs with it', async (protocol) => {
    const without = new DtmClient(urls()[protocol]);
    const err: unknown = await without.newGid().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DtmError);
    expect(String(err)).toContain('ApiAuth.Token');
    const refused = `client-token-no-${protocol}-${Date.now()}`;
    await expect(saga(without, refused).submit()).rejects.toBeInstanceOf(DtmError);
    expect(svc.callsTo('/TransOut', refused)).toHaveLength(0);

    const dtm = new DtmClient(urls()[protocol], { token: TOKEN });
    const gid = await dtm.newGid();
    await saga(dtm, gid).submit();
    expect(svc.callsTo('/TransOut', gid)).toHaveLength(1);
    expect(svc.callsTo('/TransIn', gid)).toHaveLength(1);
    const q = await new DtmClient(urls().http, { token: TOKEN }).query(gid);
    expect(q.transaction?.status).toBe('succeed');
  });
});
