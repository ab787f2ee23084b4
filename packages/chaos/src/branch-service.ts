// The harness's branch service: dtm's quick-start saga routes (/chaos/TransOut, TransIn,
// TransOutCom, TransInCom), run in a process of its own so that its clock and event loop are not
// shared with the submitter or a coordinator. Every call is logged with gid, branch_id, op and
// the high-resolution times it started (request received) and ended (answer written), which is
// what the checker's overlap and order rules read.
//
// Answers, per the script given as JSON in argv[2]:
//   - an action of TransIn for a gid containing ROLLBACK_MARK answers 409 (dtm's FAILURE): the
//     saga rolls back;
//   - otherwise, with probability failPct/100, 503 (retried by the coordinator);
//   - with probability slowPct/100, the answer waits slowMs first;
//   - else 200 {"dtm_result":"SUCCESS"}.
//
//   node --import tsx packages/chaos/src/branch-service.ts '{"failPct":5}'
// prints `{"port":N}` once listening; GET /__log answers the log so far (JSON array).
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export const ROLLBACK_MARK = '-rb';
export const PREFIX = '/chaos/';

export interface BranchScript {
  /** Percentage of calls answered 503 (before any rollback or success). */
  failPct: number;
  /** Percentage of calls answered after slowMs. */
  slowPct: number;
  slowMs: number;
}

export interface CallRecord {
  gid: string;
  branch_id: string;
  op: string;
  /** Route name: TransOut, TransIn, TransOutCom, TransInCom. */
  route: string;
  /** Epoch milliseconds with sub-millisecond precision (performance.timeOrigin + now()). */
  start: number;
  end: number;
  status: number;
  /** The coordinator closed the connection before the answer was written. */
  aborted: boolean;
}

export const defaultScript: BranchScript = { failPct: 0, slowPct: 0, slowMs: 0 };

const now = () => performance.timeOrigin + performance.now();
const SUCCESS = JSON.stringify({ dtm_result: 'SUCCESS' });

/** The answer to one call, by the script (pure, apart from the dice). */
export function decide(
  script: BranchScript,
  route: string,
  op: string,
  gid: string,
  dice = Math.random,
): { status: number; body: string; delayMs: number } {
  const delayMs = dice() * 100 < script.slowPct ? script.slowMs : 0;
  if (route === 'TransIn' && op === 'action' && gid.includes(ROLLBACK_MARK)) {
    return { status: 409, body: JSON.stringify({ dtm_result: 'FAILURE', message: 'scripted rollback' }), delayMs };
  }
  if (dice() * 100 < script.failPct) return { status: 503, body: 'injected fault', delayMs };
  return { status: 200, body: SUCCESS, delayMs };
}

export function serveBranches(script: BranchScript, port = 0): Promise<{ server: http.Server; port: number; log: CallRecord[] }> {
  const log: CallRecord[] = [];
  const server = http.createServer((req, res) => {
    const start = now();
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/__log') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(log));
      return;
    }
    if (!u.pathname.startsWith(PREFIX)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const route = u.pathname.slice(PREFIX.length);
    const q = u.searchParams;
    const rec: CallRecord = {
      gid: q.get('gid') ?? '',
      branch_id: q.get('branch_id') ?? '',
      op: q.get('op') ?? '',
      route,
      start,
      end: 0,
      status: 0,
      aborted: false,
    };
    log.push(rec);
    const answer = decide(script, route, rec.op, rec.gid);
    let answered = false;
    res.once('close', () => {
      if (!answered) {
        rec.aborted = true;
        rec.end = now();
      }
    });
    req.resume();
    req.once('end', () => {
      const reply = () => {
        if (res.destroyed) return;
        answered = true;
        rec.status = answer.status;
        res.writeHead(answer.status, { 'content-type': answer.status === 503 ? 'text/plain' : 'application/json' });
        res.end(answer.body, () => (rec.end = now()));
      };
      if (answer.delayMs > 0) setTimeout(reply, answer.delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, log }));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const overrides = process.argv[2] ? (JSON.parse(process.argv[2]) as Partial<BranchScript>) : {};
  const script: BranchScript = { ...defaultScript, ...overrides };
  const { server, port } = await serveBranches(script);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  const stop = () => {
    server.closeAllConnections();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The harness owns us: exit when it goes away.
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
