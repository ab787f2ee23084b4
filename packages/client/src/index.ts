// @dtx/client: a TypeScript client for dtm-compatible coordinators (docs/client/README.md).
export { DtmClient } from './client.ts';
export { HttpTransport, apiBase, withQuery, type ClientOptions, type Answer } from './http.ts';
export { Failure, Ongoing, Duplicated, DtmError, errorOfAnswer } from './errors.ts';
export { Saga, type SagaOptions } from './saga.ts';
export { Msg, type MsgOptions } from './msg.ts';
export { Tcc, tccGlobalTransaction, type TccOptions } from './tcc.ts';
export type { TransOptions, Payload, TransType, TransRecord, BranchRecord, QueryResult } from './trans.ts';
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
} from './barrier/core.ts';
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
} from './barrier/adapters.ts';
export { barrierDdl, barrierDdlFile } from './barrier/ddl.ts';
export {
  branchContext,
  answerOf,
  runBranch,
  InvalidBranchRequest,
  type BranchContext,
  type BranchRequest,
  type BranchHandler,
  type BranchAnswer,
} from './branch/context.ts';
export { dtmExpress, type ExpressRequestLike, type ExpressResponseLike } from './branch/express.ts';
export { dtmFastify, type FastifyRequestLike, type FastifyReplyLike } from './branch/fastify.ts';
