// The load generator: N concurrent clients, each submitting dtm's bench saga (TransOut then
// TransIn, each with its compensation, payload `{}`) in a closed loop, as dtm's
// helper/bench/svr/http.go does through dtmcli (`saga.WaitResult = true` by default).
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

  const client = async () => {
    while (phase !== 'stop') {
      const n = seq++;
      const gid = `${o.gidPrefix}-${n}`;
      const body = sagaBody(gid, o.busi, n, o.waitResult);
      const t0 = performance.now();
      let good = false;
      let kind = '';
      try {
        const res = await pool.request({
          path: '/api/dtmsvr/submit',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const text = await res.body.text();
        good = res.statusCode === 200 && !text.includes('FAILURE');
        // Numbers (connection ids, gids) vary per error: group by the message's shape.
        if (!good) kind = `http ${res.statusCode}: ${text.slice(0, 160).replace(/\d+/g, 'N')}`;
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
  await pool.close();
  const latencies = lat.slice(0, nLat).sort();
  return { ok, errors, errorKinds, latencies, windowMs, issued: seq, okTotal, windowGids };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
