// The submitter: N two-step sagas of dtm's quick-start shape (TransOut / TransIn, each with its
// compensation), a share of which roll back (TransIn answers 409), sent at a bounded concurrency
// and, optionally, a bounded rate. Every submit's outcome is recorded per gid.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { ROLLBACK_MARK } from './branch-service.ts';
import { sleep } from './procs.ts';

export interface Ack {
  gid: string;
  rollback: boolean;
  target: string;
  /** HTTP status; 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  latencyMs: number;
  /** The error text: the answer's body when not 200, or the client error. */
  error: string;
  /** Epoch ms the submit was sent. */
  at: number;
}

export interface SubmitOptions {
  runId: string;
  sagas: number;
  rollbackPct: number;
  concurrency: number;
  /** Sagas per second (0: as fast as the concurrency allows). */
  rate: number;
  /** Coordinators' base URLs, used round-robin; a function so that it follows restarts. */
  targets: () => string[];
  branchBase: string;
  /** The saga's retry_interval (s). */
  retryInterval: number;
  timeoutMs: number;
  acksFile: string;
  /** Stops submitting early (e.g. the run's time budget is spent). */
  stopped?: () => boolean;
  /** Submit with wait_result: each submit is answered once its saga ran (a closed loop over whole sagas). */
  waitResult?: boolean;
}

/**
 * The coordinator took the saga: 200, or (with wait_result) 409 FAILURE, a saga that was stored,
 * ran and rolled back.
 */
export function acknowledged(a: Ack): boolean {
  return a.status === 200 || (a.status === 409 && a.error.includes('"dtm_result":"FAILURE"'));
}

export function gidOf(runId: string, i: number, rollbackPct: number): string {
  // Deterministic spread of rollbacks: saga i rolls back when its i-th slot of 100 is below the %.
  const rb = (i * 37) % 100 < rollbackPct;
  return `chaos-${runId}-${i}${rb ? ROLLBACK_MARK : ''}`;
}

export function sagaBody(gid: string, branchBase: string, retryInterval: number, waitResult = false): object {
  const u = (r: string) => `${branchBase}/chaos/${r}`;
  return {
    gid,
    trans_type: 'saga',
    ...(waitResult ? { wait_result: true } : {}),
    retry_interval: retryInterval,
    steps: [
      { action: u('TransOut'), compensate: u('TransOutCom') },
      { action: u('TransIn'), compensate: u('TransInCom') },
    ],
    payloads: ['{"amount":30}', '{"amount":30}'],
  };
}

function errorText(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause ? `: ${e.cause.code ?? e.cause.message}` : '';
  return `${e.name === 'TimeoutError' ? 'timeout' : e.message}${cause}`;
}

export async function submitAll(o: SubmitOptions): Promise<Ack[]> {
  const acks: Ack[] = [];
  const out = createWriteStream(o.acksFile);
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= o.sagas || o.stopped?.()) return;
      if (o.rate > 0) {
        const due = t0 + (i * 1000) / o.rate;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const gid = gidOf(o.runId, i, o.rollbackPct);
      const targets = o.targets();
      const target = targets[i % targets.length] ?? '';
      const at = Date.now();
      const started = performance.now();
      const ack: Ack = { gid, rollback: gid.includes(ROLLBACK_MARK), target, status: 0, latencyMs: 0, error: '', at };
      try {
        const r = await fetch(`${target}/api/dtmsvr/submit`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sagaBody(gid, o.branchBase, o.retryInterval, o.waitResult)),
          signal: AbortSignal.timeout(o.timeoutMs),
        });
        const text = await r.text();
        ack.status = r.status;
        if (r.status !== 200) ack.error = text.slice(0, 1000);
      } catch (err) {
        ack.error = errorText(err);
      }
      ack.latencyMs = performance.now() - started;
      acks.push(ack);
      if (!out.write(`${JSON.stringify(ack)}\n`)) await once(out, 'drain');
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  out.end();
  await once(out, 'finish');
  return acks;
}
