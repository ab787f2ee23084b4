// The coordinator's CPU per branch call (docs/benchmarks.md, "gRPC branch calls"): one branch
// transport at a time calls the benchmark's branch service (branch-server.ts, its own process,
// answering at once), `--calls` calls at `--concurrency`, and process.cpuUsage of the calling
// process over them is divided by the calls. Each transport runs in a fresh process (no JIT state
// shared between them): the HTTP transport (undici), the gRPC transport (node:http2), and for
// reference grpc-js's makeUnaryRequest with the gRPC transport's former channel options.
//
// On a busy machine take the best of many: `--repeat N` runs the transports in turn N times.
//
//   pnpm --filter @dtx/bench branch-calls [--calls 20000] [--concurrency 50] [--rounds 3] [--repeat 1] [--only http,grpc,grpc-js]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { GrpcTransport, HttpTransport } from '@dtx/coordinator';
import { silentLogger, type BranchCall } from '@dtx/engine';
import { benchDir, startBranchService } from './procs.ts';

const VARIANTS = ['http', 'grpc', 'grpc-js'] as const;
type Variant = (typeof VARIANTS)[number];

const { values: a } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    repeat: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '5000' },
    only: { type: 'string', default: VARIANTS.join(',') },
    // internal: one measurement against a running branch service
    variant: { type: 'string' },
    port: { type: 'string' },
    'grpc-port': { type: 'string' },
  },
});

const calls = Number(a.calls);
const concurrency = Number(a.concurrency);

/** One branch call of the given transport; resolves true on success. */
function caller(variant: Variant, port: number, grpcPort: number): () => Promise<boolean> {
  let n = 0;
  const base: Omit<BranchCall, 'url' | 'protocol' | 'gid'> = {
    transType: 'saga',
    branchId: '01',
    op: 'action',
    post: true,
    payload: Buffer.from('{}'),
    headers: {},
    timeoutMs: 3000,
  };
  const gid = () => `bench-${++n}-${Date.now()}`;
  if (variant === 'http') {
    const t = new HttpTransport({});
    const url = `http://127.0.0.1:${port}/api/busi_bench/TransIn`;
    return async () => (await t.call({ ...base, url, protocol: 'http', gid: gid() })).outcome === 'success';
  }
  if (variant === 'grpc') {
    const t = new GrpcTransport({ driver: 'default', logger: silentLogger });
    const url = `127.0.0.1:${grpcPort}/busi.Busi/TransIn`;
    return async () => (await t.call({ ...base, url, protocol: 'grpc', gid: gid() })).outcome === 'success';
  }
  // grpc-js as packages/coordinator/src/grpc/transport.ts called it before its node:http2 client (client.ts).
  const identity = (b: Buffer) => b;
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
    'grpc.enable_channelz': 0,
  });
  return () =>
    new Promise<boolean>((resolve) => {
      const md = new grpc.Metadata();
      md.set('dtm-gid', gid());
      md.set('dtm-trans_type', base.transType);
      md.set('dtm-branch_id', base.branchId);
      md.set('dtm-op', base.op);
      md.set('dtm-dtm', '');
      client.makeUnaryRequest('/busi.Busi/TransIn', identity, identity, base.payload, md, { deadline: Date.now() + base.timeoutMs }, (err) =>
        resolve(!err),
      );
    });
}

async function measure(variant: Variant, port: number, grpcPort: number): Promise<void> {
  const call = caller(variant, port, grpcPort);
  const run = async (count: number) => {
    let left = count;
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) if (!(await call())) failed++;
      }),
    );
    return failed;
  };
  await run(Number(a.warmup));
  const rounds = [];
  for (let r = 0; r < Number(a.rounds); r++) {
    const t0 = process.hrtime.bigint();
    const u0 = process.cpuUsage();
    const failed = await run(calls);
    const u = process.cpuUsage(u0);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    rounds.push({ us: (u.user + u.system) / calls, userUs: u.user / calls, systemUs: u.system / calls, perSecond: (calls / wallMs) * 1000, failed });
  }
  process.stdout.write(`${JSON.stringify(rounds)}\n`);
  process.exit(0);
}

if (a.variant) {
  await measure(a.variant as Variant, Number(a.port), Number(a['grpc-port']));
} else {
  const only = (a.only ?? '').split(',').filter(Boolean) as Variant[];
  for (const v of only) if (!VARIANTS.includes(v)) throw new Error(`--only: unknown transport '${v}' (${VARIANTS.join(', ')})`);
  const svc = await startBranchService('127.0.0.1', 0);
  try {
    console.log(`${calls} calls at concurrency ${concurrency}, ${a.rounds} rounds; µs of client CPU per call (user + system)`);
    const all = new Map<Variant, number[]>(only.map((v) => [v, []]));
    for (let r = 0; r < Number(a.repeat); r++) {
      for (const v of only) {
        const out = execFileSync(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(import.meta.url),
            ...process.argv.slice(2),
            '--variant',
            v,
            '--port',
            String(svc.port),
            '--grpc-port',
            String(svc.grpcPort),
          ],
          { cwd: benchDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
        );
        const rounds = JSON.parse(out) as { us: number; userUs: number; systemUs: number; perSecond: number; failed: number }[];
        all.get(v)?.push(...rounds.map((x) => x.us));
        const cells = rounds.map(
          (x) =>
            `${x.us.toFixed(1)} (${x.userUs.toFixed(1)} + ${x.systemUs.toFixed(1)}), ${Math.round(x.perSecond)}/s${x.failed ? `, ${x.failed} failed` : ''}`,
        );
        console.log(`${v.padEnd(8)} ${cells.join(' | ')}`);
      }
    }
    for (const [v, xs] of all) {
      const sorted = [...xs].sort((x, y) => x - y);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
      console.log(`${v.padEnd(8)} best ${(sorted[0] ?? 0).toFixed(1)}, median ${median.toFixed(1)} µs (${xs.length} rounds)`);
    }
  } finally {
    await svc.stop();
  }
}
