// `@dtx/engine/store`: the store port and the status vocabulary, for storage implementations
// (packages/db). Loads nothing but these two modules.
export * from './port.ts';
export * from '../status.ts';
