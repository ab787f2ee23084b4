export { startCoordinator, type Coordinator, type StartOptions } from './app.ts';
export { loadConfig, defaultConfig, ConfigError, envName, storeConfigOf, type Config } from '@dtx/config';
export { createLogger } from './log.ts';
export { errorReply } from './http/server.ts';
export { VERSION } from './version.ts';
export { loadDtmProto, grpcStatusOf } from './grpc/server.ts';
export { splitBranchUrl } from './grpc/target.ts';
export { LEASE_TTL_SECONDS } from './discovery/etcd.ts';
export { exitOnSignals } from './shutdown.ts';
