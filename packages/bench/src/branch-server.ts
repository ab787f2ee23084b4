// The benchmark's branch service, run as its own process so that it does not share an event loop
// with the load generator or the coordinator. It answers dtm's bench routes
// (/api/busi_bench/TransOut, TransIn, TransOutCom, TransInCom) at once with 200 and dtm's SUCCESS
// body, like dtm's helper/bench server in its `sqls=0` mode, and counts the calls.
//
//   node --import tsx packages/bench/src/branch-server.ts [--port 0] [--host 127.0.0.1]
//
// Prints one line `{"port":N}` on stdout once listening. GET /__stats answers the counters.
import http from 'node:http';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});

const PREFIX = '/api/busi_bench/';
const OK = Buffer.from('{"dtm_result":"SUCCESS"}');
const OK_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(OK.length) };

const counts: Record<string, number> = { TransOut: 0, TransIn: 0, TransOutCom: 0, TransInCom: 0, other: 0 };

const server = http.createServer((req, res) => {
  const url = req.url ?? '';
  if (url.startsWith(PREFIX)) {
    const q = url.indexOf('?');
    const name = url.slice(PREFIX.length, q < 0 ? undefined : q);
    if (name in counts && name !== 'other') counts[name] = (counts[name] ?? 0) + 1;
    else counts.other = (counts.other ?? 0) + 1;
    // Answer once the request body is read (it is `{}`), like a real handler would.
    req.on('end', () => {
      res.writeHead(200, OK_HEADERS);
      res.end(OK);
    });
    req.resume();
    return;
  }
  if (url === '/__stats') {
    const body = JSON.stringify({ ...counts, cpu: process.cpuUsage(), pid: process.pid });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  counts.other = (counts.other ?? 0) + 1;
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('404 page not found');
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;
server.maxRequestsPerSocket = 0;

// The same four branches as gRPC methods of `busi.Busi` (the gRPC workload), answering OK with an
// empty message whatever the request bytes: the coordinator never decodes payloads.
const identity = (b: Buffer) => b;
const grpcServer = new grpc.Server();
const methods = ['TransOut', 'TransIn', 'TransOutCom', 'TransInCom'] as const;
grpcServer.addService(
  Object.fromEntries(
    methods.map((m) => [
      m,
      {
        path: `/busi.Busi/${m}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    ]),
  ),
  Object.fromEntries(
    methods.map((m) => [
      m,
      (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        counts[m] = (counts[m] ?? 0) + 1;
        cb(null, Buffer.alloc(0));
      },
    ]),
  ),
);

server.listen(Number(values.port), values.host, () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  grpcServer.bindAsync(`${values.host}:0`, grpc.ServerCredentials.createInsecure(), (err, grpcPort) => {
    if (err) throw err;
    process.stdout.write(`${JSON.stringify({ port, grpcPort, pid: process.pid })}\n`);
  });
});

const stop = () => {
  grpcServer.forceShutdown();
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The harness owns us: exit when it goes away.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
