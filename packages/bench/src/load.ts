// The load generator: N concurrent clients, each submitting dtm's bench saga (TransOut then
// TransIn, each with its compensation, payload `{}`) in a closed loop, as dtm's
// helper/bench/svr/http.go does through dtmcli (`saga.WaitResult = true` by default).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Pool } from 'undici';

export interface LoadOptions {
  /** Coordinator origin, e.g. http://127.0.0.1:36789 */
  target: string;
  /** Branch service base, e.g. http://127.0.0.1:8083/api/busi_bench */
  busi: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  waitResult: boolean;
  gidPrefix: string;
  /** http: POST /api/dtmsvr/submit with branch URLs; grpc: dtmgimp.Dtm/Submit with gRPC branches. */
  protocol: 'http' | 'grpc';
  /** gRPC: the coordinator's gRPC address and the branch service's, host:port. */
  grpcTarget?: string;
  /**
   * gRPC: client channels (HTTP/2 connections) the clients share, in turn. One grpc-js channel
   * carrying 50 clients' calls is itself the limit (dtx did 535 sagas/s through one and 775-940
   * through one grpc-go connection of the same test); clients are meant to be many services.
   */
  grpcChannels?: number;
  busiGrpc?: string;
  /**
   * Sagas per second in all (0: as fast as the clients go, a closed loop). A fixed rate keeps the
   * coordinator's batching the same from run to run, so its CPU per saga compares across runs on a
   * busy machine better than a closed loop's, whose rate follows whatever else runs.
   */
  rate?: number;
  /** Called at the start and the end of the measured window. */
  onWindow?: (edge: 'start' | 'end') => void | Promise<void>;
}

export interface LoadResult {
  /** Submits answered 200 without FAILURE within the window. */
  ok: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** Latency of successful submits in the window, sorted, ms. */
  latencies: Float64Array;
  windowMs: number;
  /** Every submit issued (warmup included), and the gids of those in the window that succeeded. */
  issued: number;
  okTotal: number;
  windowGids: string[];
}

const TOTAL_UIDS = 200_000;

export function sagaBody(gid: string, busi: string, seq: number, waitResult: boolean): string {
  const uid = (seq % TOTAL_UIDS) + 1;
  const uid2 = TOTAL_UIDS + 1 - uid;
  // Field order and values as dtmcli marshals a Saga (TransBase): gid, trans_type, wait_result,
  // concurrent, steps, payloads, protocol.
  return JSON.stringify({
    gid,
    trans_type: 'saga',
    ...(waitResult ? { wait_result: true } : {}),
    concurrent: false,
    steps: [
      { action: `${busi}/TransOut?uid=${uid}`, compensate: `${busi}/TransOutCom?uid=${uid}` },
      { action: `${busi}/TransIn?uid=${uid2}`, compensate: `${busi}/TransInCom?uid=${uid2}` },
    ],
    payloads: ['{}', '{}'],
    protocol: '',
  });
}

const PROTO_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'coordinator', 'proto');

/** The same saga as a gRPC DtmRequest (what dtmgrpc.NewSagaGrpc(...).Add(...).Submit() sends). */
function grpcSaga(gid: string, busi: string, waitResult: boolean): Record<string, unknown> {
  return {
    Gid: gid,
    TransType: 'saga',
    TransOptions: { WaitResult: waitResult },
    Steps: JSON.stringify([
      { action: `${busi}/busi.Busi/TransOut`, compensate: `${busi}/busi.Busi/TransOutCom` },
      { action: `${busi}/busi.Busi/TransIn`, compensate: `${busi}/busi.Busi/TransInCom` },
    ]),
    // protobuf of a small request message ({Amount: 30}); branches never decode it
    BinPayloads: [Buffer.from([0x08, 0x1e]), Buffer.from([0x08, 0x1e])],
  };
}

type Submit = (gid: string, n: number) => Promise<{ good: boolean; kind: string }>;

function httpSubmitter(o: LoadOptions, pool: Pool): Submit {
  return async (gid, n) => {
    const res = await pool.request({
      path: '/api/dtmsvr/submit',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: sagaBody(gid, o.busi, n, o.waitResult),
    });
    const text = await res.body.text();
    const good = res.statusCode === 200 && !text.includes('FAILURE');
    // Numbers (connection ids, gids) vary per error: group by the message's shape.
    return { good, kind: good ? '' : `http ${res.statusCode}: ${text.slice(0, 160).replace(/\d+/g, 'N')}` };
  };
}

function grpcSubmitter(o: LoadOptions): { submit: Submit; close: () => void } {
  const def = protoLoader.loadSync('dtmgimp.proto', { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, defaults: true });
  const Dtm = (grpc.loadPackageDefinition(def) as unknown as { dtmgimp: { Dtm: grpc.ServiceClientConstructor } }).dtmgimp.Dtm;
  // A client made from a loaded .proto has one untyped method per rpc (grpc-js types them as
  // Function); Submit is the only one used here.
  type UnaryCall = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void;
  // grpc-js shares a subchannel (connection) between channels with equal options: a local pool each.
  const clients = Array.from(
    { length: Math.max(1, o.grpcChannels ?? 1) },
    () =>
      new Dtm(o.grpcTarget as string, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as grpc.Client & {
        Submit: UnaryCall;
      },
  );
  let next = 0;
  const submit: Submit = (gid) =>
    new Promise((resolve) => {
      const client = clients[next++ % clients.length] as grpc.Client & { Submit: UnaryCall };
      client.Submit(grpcSaga(gid, o.busiGrpc as string, o.waitResult), { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null) =>
        resolve(
          err ? { good: false, kind: `grpc ${grpc.status[err.code]}: ${err.details.slice(0, 160).replace(/\d+/g, 'N')}` } : { good: true, kind: '' },
        ),
      );
    });
  return { submit, close: () => clients.forEach((c) => c.close()) };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(o.target, {
    connections: o.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  let phase: 'warmup' | 'measure' | 'stop' = 'warmup';
  let seq = 0;
  let ok = 0;
  let okTotal = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  let lat = new Float64Array(1 << 16);
  let nLat = 0;
  const windowGids: string[] = [];
  const noteError = (kind: string) => {
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };

  const g = o.protocol === 'grpc' ? grpcSubmitter(o) : null;
  const submit = g ? g.submit : httpSubmitter(o, pool);

  // --rate: submit n is due at start + n / rate; a client takes the next due time and waits for it.
  const interval = o.rate ? 1000 / o.rate : 0;
  const started = performance.now();
  let slot = 0;
  const client = async () => {
    while (phase !== 'stop') {
      if (interval > 0) {
        const wait = started + slot++ * interval - performance.now();
        if (wait > 1) await sleep(wait);
        // the window may have ended while this client slept
        if ((phase as string) === 'stop') break;
      }
      const n = seq++;
      const gid = `${o.gidPrefix}-${n}`;
      const t0 = performance.now();
      let good = false;
      let kind: string;
      try {
        ({ good, kind } = await submit(gid, n));
      } catch (err) {
        const e = err as Error & { code?: string };
        kind = e.code ?? e.message;
      }
      const dt = performance.now() - t0;
      if (good) okTotal++;
      // Completions that land inside the measured window count (Little's law stays honest).
      if (phase === 'measure') {
        if (good) {
          ok++;
          if (nLat === lat.length) {
            const bigger = new Float64Array(lat.length * 2);
            bigger.set(lat);
            lat = bigger;
          }
          lat[nLat++] = dt;
          if (windowGids.length < 100_000) windowGids.push(gid);
        } else {
          errors++;
          noteError(kind);
        }
      } else if (!good && phase === 'warmup') {
        noteError(`(warmup) ${kind}`);
      }
    }
  };

  const clients = Array.from({ length: o.concurrency }, () => client());
  await sleep(o.warmupMs);
  await o.onWindow?.('start');
  phase = 'measure';
  const w0 = performance.now();
  await sleep(o.durationMs);
  phase = 'stop';
  const windowMs = performance.now() - w0;
  await o.onWindow?.('end');
  await Promise.all(clients);
  g?.close();
  await pool.close();
  const latencies = lat.slice(0, nLat).sort();
  return { ok, errors, errorKinds, latencies, windowMs, issued: seq, okTotal, windowGids };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
