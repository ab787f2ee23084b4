// While the store cannot be reached at start-up, the coordinator's HTTP port already answers:
// /api/ping with dtm's pong (the process is alive, so an orchestrator does not restart it in a
// loop) and the readiness route with 503 and the reason (so no traffic is routed to it). Every
// other path gets 503. Replaced by the real server once the store answers.
import { createServer, type Server } from 'node:http';
import { READY_PATH } from './health.ts';

export interface Standby {
  setReason(reason: string): void;
  close(): Promise<void>;
}

export async function startStandby(port: number, host: string, reason: string): Promise<Standby | null> {
  let why = reason;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (path === '/api/ping') return send(200, { msg: 'pong' });
    if (path === READY_PATH) return send(503, { status: 'unavailable', reason: `store: ${why}` });
    return send(503, { message: `the coordinator is waiting for its store: ${why}` });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch {
    return null; // the port is taken: the real server's listen will report it
  }
  return {
    setReason: (r) => void (why = r),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
