// The store port is defined by the engine (it is what the engine needs); this package implements
// it. Re-exported here so that callers of @dtx/db see the row types next to the implementation.
export * from '@dtx/engine/store';
