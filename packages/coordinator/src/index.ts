// `@dtx/coordinator`: one coordinator instance (storage, engine, HTTP/JSON-RPC/gRPC APIs, branch
// transports, discovery, metrics), started by apps/server's entry point, by the dashboard's
// `--with-coordinator` mode and by tests.
export { startCoordinator, type Coordinator, type StartOptions } from './app.ts';
export { errorReply } from './http/server.ts';
export { checkReadiness, READY_PATH, type Readiness, type ReadinessProbe } from './http/health.ts';
export { loadDtmProto, grpcStatusOf } from './grpc/server.ts';
export { GrpcFailure, grpcJsUnary, installFastUnary, type CallContext, type FastRoute } from './grpc/fast-unary.ts';
export { splitBranchUrl } from './grpc/target.ts';
export { GrpcTransport } from './grpc/transport.ts';
export { parseDialAddress } from './grpc/client.ts';
export { LEASE_TTL_SECONDS } from './discovery/etcd.ts';
export { HttpTransport, branchUrl, dockerRewrite, goQueryEscape } from './calls/http.ts';
export { CallRouter } from './calls/router.ts';
export { classifyHttp, classifyGrpc, GrpcCode } from './calls/classify.ts';
