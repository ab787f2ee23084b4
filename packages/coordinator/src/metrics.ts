// Prometheus metrics with dtm's names (docs/protocol/http-api.md §4.15), served on GET /api/metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineMetrics } from '@dtx/engine';

/**
 * A prom-client Counter whose increments on the hot path are counted in a map and handed to the
 * counter when it is read (a scrape, or the group's aggregation): prom-client hashes and checks
 * the labels at every inc, a few µs each, several times per saga.
 */
class DeferredCounter<L extends string> {
  readonly counter: Counter<L>;
  private readonly pending = new Map<string, { labels: Record<L, string>; n: number }>();

  constructor(config: { name: string; help: string; labelNames: L[]; registers: Registry[] }) {
    const pending = this.pending;
    this.counter = new Counter<L>({
      ...config,
      collect() {
        for (const p of pending.values()) {
          if (p.n === 0) continue;
          this.inc(p.labels, p.n);
          p.n = 0;
        }
      },
    });
  }

  /** Adds one to the series `labels`; `key` names that series (its label values joined). */
  inc(key: string, labels: () => Record<L, string>): void {
    const p = this.pending.get(key);
    if (p) p.n++;
    else this.pending.set(key, { labels: labels(), n: 1 });
  }
}

/** Most endpoints dtx_branch_calls_total keeps apart (each has up to 4 outcome series). */
export const MAX_ENDPOINT_SERIES = 200;
export const OTHER_ENDPOINT = 'other';

export class Metrics implements EngineMetrics {
  readonly registry = new Registry();
  /** The text GET /api/metrics serves: this registry's, or the whole group's in a worker (apps/server workers.ts). */
  collect: () => Promise<string> = () => this.registry.metrics();
  private readonly serverProcess: DeferredCounter<'type' | 'api' | 'status'>;
  private readonly serverDuration: Histogram<'type' | 'api'>;
  private readonly transProcess: DeferredCounter<'model' | 'status'>;
  private readonly transDuration: Histogram<'model'>;
  private readonly branchProcess: DeferredCounter<'model' | 'branchid' | 'branchtype' | 'status'>;
  private readonly refused: Counter<'reason'>;
  private readonly branchCalls: DeferredCounter<'endpoint' | 'outcome'>;
  /** Endpoints with a series of their own; calls to any further one count as `other`. */
  private readonly endpoints = new Set<string>();

  constructor(version: string) {
    collectDefaultMetrics({ register: this.registry });
    const info = new Gauge({
      name: 'dtm_server_info',
      help: 'The information of this dtm server',
      labelNames: ['version'],
      // A group of workers is one server (apps/server workers.ts aggregates their registries).
      aggregator: 'first',
      registers: [this.registry],
    });
    info.set({ version }, 1);
    this.serverProcess = new DeferredCounter({
      name: 'dtm_server_process_total',
      help: 'All request received by dtm',
      labelNames: ['type', 'api', 'status'],
      registers: [this.registry],
    });
    this.serverDuration = new Histogram({
      name: 'dtm_server_response_duration',
      help: 'The request durations of a dtm server api',
      labelNames: ['type', 'api'],
      registers: [this.registry],
    });
    this.transProcess = new DeferredCounter({
      name: 'dtm_transaction_process_total',
      help: 'All transactions processed by dtm',
      labelNames: ['model', 'status'],
      registers: [this.registry],
    });
    this.transDuration = new Histogram({
      name: 'dtm_transaction_handled_duration',
      help: 'Seconds from the creation of a transaction to each of its processing passes',
      labelNames: ['model'],
      registers: [this.registry],
    });
    this.branchProcess = new DeferredCounter({
      name: 'dtm_branch_process_total',
      help: 'All branches processed by dtm',
      labelNames: ['model', 'branchid', 'branchtype', 'status'],
      registers: [this.registry],
    });
    this.branchCalls = new DeferredCounter({
      name: 'dtx_branch_calls_total',
      help: `Branch calls by endpoint (host + path, or gRPC service/method; after ${MAX_ENDPOINT_SERIES} endpoints: "${OTHER_ENDPOINT}") and outcome`,
      labelNames: ['endpoint', 'outcome'],
      registers: [this.registry],
    });
    // Ours: admission control (docs/operations.md, "Overload").
    this.refused = new Counter({
      name: 'dtx_admission_refused_total',
      help: 'Requests of the transaction API refused because this instance was overloaded, by bound',
      labelNames: ['reason'],
      registers: [this.registry],
    });
  }

  /**
   * Ours: every branch call by endpoint (host + path, or gRPC service/method: the engine's
   * endpointOf) and outcome (success, failure, ongoing, error). Cardinality is bounded: the first
   * MAX_ENDPOINT_SERIES endpoints seen get a label value each, later ones share `other`.
   */
  call(endpoint: string, outcome: string): void {
    if (!this.endpoints.has(endpoint)) {
      if (this.endpoints.size >= MAX_ENDPOINT_SERIES) endpoint = OTHER_ENDPOINT;
      else this.endpoints.add(endpoint);
    }
    this.branchCalls.inc(`${endpoint}\n${outcome}`, () => ({ endpoint, outcome }));
  }

  /** The admission gauges, read when scraped. */
  observeAdmission(inflightSubmits: () => number, passes: () => number): void {
    new Gauge({
      name: 'dtx_admission_inflight_submits',
      help: 'Requests of the transaction API being processed (bounded by MaxInflightSubmits)',
      registers: [this.registry],
      collect() {
        this.set(inflightSubmits());
      },
    });
    new Gauge({
      name: 'dtx_passes_inflight',
      help: "Transaction passes running, API-triggered and the scheduler's (bounded by MaxInflightPasses)",
      registers: [this.registry],
      collect() {
        this.set(passes());
      },
    });
  }

  admissionRefused(reason: string): void {
    this.refused.inc({ reason });
  }

  request(type: 'http' | 'grpc', api: string, ok: boolean, seconds: number): void {
    const status = ok ? 'ok' : 'fail';
    this.serverProcess.inc(`${type}\n${api}\n${status}`, () => ({ type, api, status }));
    this.serverDuration.observe({ type, api }, seconds);
  }

  pass(model: string, ok: boolean, secondsSinceCreate: number): void {
    const status = ok ? 'ok' : 'fail';
    this.transProcess.inc(`${model}\n${status}`, () => ({ model, status }));
    this.transDuration.observe({ model }, secondsSinceCreate);
  }

  branch(model: string, branchId: string, op: string, ok: boolean): void {
    const status = ok ? 'ok' : 'fail';
    this.branchProcess.inc(`${model}\n${branchId}\n${op}\n${status}`, () => ({ model, branchid: branchId, branchtype: op, status }));
  }
}
