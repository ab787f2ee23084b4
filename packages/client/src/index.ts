// @dtx/client: a TypeScript client for dtm-compatible coordinators (docs/client/README.md).
export { DtmClient } from './client.js';
export { GrpcTransport, grpcTarget, splitGrpcBranchUrl } from './grpc.js';
export { HttpTransport, apiBase, isHttpUrl, withQuery, type ClientOptions, type Answer } from './http.js';
export { Failure, Ongoing, Duplicated, DtmError, errorOfAnswer } from './errors.js';
export { Saga, type SagaOptions } from './saga.js';
export { Msg, type MsgOptions } from './msg.js';
export { Tcc, tccGlobalTransaction, type TccOptions } from './tcc.js';
export { Workflow, Workflows, type WorkflowFunction, type WorkflowOptions, type PhaseTwo } from './workflow.js';
export { Xa, xaGlobalTransaction, xaLocalTransaction, mysql2Xa, pgXa, type XaDb, type XaOptions } from './xa.js';
export type { TransOptions, TransType, TransRecord, BranchRecord, QueryResult } from './trans.js';
export type { Payload, Encoder, Decoder, EncodedPayload } from './payload.js';
export {
  BranchBarrier,
  setBarrierTableName,
  barrierTableName,
  cleanupBarriers,
  type BarrierDb,
  type BarrierDialect,
  type SqlRunner,
  type CleanupOptions,
  type BarrierInfo,
} from './barrier/core.js';
export {
  pgDb,
  mysql2Db,
  prismaDb,
  type PgPoolLike,
  type PgQueryable,
  type Mysql2PoolLike,
  type Mysql2Connection,
  type PrismaLike,
  type PrismaTxLike,
  type PrismaDbOptions,
  type DbOptions,
} from './barrier/adapters.js';
export { barrierDdl, barrierDdlFile } from './barrier/ddl.js';
export {
  branchContext,
  branchRequest,
  answerOf,
  runBranch,
  InvalidBranchRequest,
  type BranchContext,
  type BranchRequest,
  type BranchHandler,
  type BranchAnswer,
} from './branch/context.js';
export { dtmExpress, type ExpressRequestLike, type ExpressResponseLike } from './branch/express.js';
export { dtmFastify, type FastifyRequestLike, type FastifyReplyLike } from './branch/fastify.js';
export {
  dtmGrpc,
  grpcBranchContext,
  grpcStatusOf,
  addWorkflowService,
  decodeWorkflowData,
  GrpcStatus,
  type GrpcMetadataLike,
  type GrpcUnaryCallLike,
  type GrpcStatusError,
  type GrpcUnaryCallback,
  type GrpcServerLike,
  type WorkflowRunner,
} from './branch/grpc.js';
