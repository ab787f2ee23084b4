// Picks the transport for a branch call (docs/protocol/branch-calls.md §2): an empty URL is an immediate
// success; the http protocol or an http(s):// URL goes over HTTP (JSON-RPC when the protocol is
// json-rpc and the URL mentions `method`); anything else is a gRPC target.
import type { BranchCall, BranchTransport, CallResult } from '@dtx/engine';

export class CallRouter implements BranchTransport {
  constructor(
    private readonly http: BranchTransport,
    private grpc?: BranchTransport,
  ) {}

  /** Installs the gRPC transport (the server package provides it; the engine has no gRPC code). */
  setGrpc(grpc: BranchTransport): void {
    this.grpc = grpc;
  }

  async call(call: BranchCall): Promise<CallResult> {
    if (call.url === '') {
      return { outcome: 'success', message: '', transport: 'none', startedAt: new Date(), durationMs: 0, response: '' };
    }
    if (call.protocol === 'http' || call.url.startsWith('http://') || call.url.startsWith('https://')) {
      return this.http.call(call);
    }
    if (!this.grpc) {
      return {
        outcome: 'error',
        message: `no gRPC transport to call '${call.url}'`,
        transport: 'grpc',
        startedAt: new Date(),
        durationMs: 0,
        response: '',
      };
    }
    return this.grpc.call(call);
  }

  async close(): Promise<void> {
    await this.http.close?.();
    await this.grpc?.close?.();
  }
}
