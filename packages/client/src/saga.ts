// Saga: steps of action + compensation called by the coordinator (docs/protocol/transactions.md §4.1).
import type { HttpTransport } from './http.js';
import { checkedGid, encodePayload, transBody, type EncodedPayload, type Encoder, type TransOptions } from './trans.js';

export interface SagaOptions extends TransOptions {
  /** Max immediate re-tries of actions within one pass; exhausted → the saga rolls back. */
  retryLimit?: number;
  /** Run the steps concurrently, subject to the orders given with `addBranchOrder`. */
  concurrent?: boolean;
}

export class Saga {
  readonly gid: string;
  private readonly steps: { action: string; compensate: string }[] = [];
  private readonly payloads: EncodedPayload[] = [];
  private readonly orders: Record<string, number[]> = {};

  constructor(
    private readonly transport: HttpTransport,
    gid: string,
    readonly options: SagaOptions = {},
  ) {
    this.gid = checkedGid(gid);
  }

  /**
   * Adds a step. `compensate` may be '' (nothing to undo). The same payload goes to both: JSON,
   * or bytes (a Uint8Array, or `payload` run through `encode`): a gRPC step's protobuf request.
   */
  add<T>(action: string, compensate: string, payload?: T, encode?: Encoder<T>): this {
    const p = encodePayload(payload, encode as Encoder<T | undefined> | undefined);
    this.steps.push({ action, compensate });
    this.payloads.push(p);
    return this;
  }

  /** Step `step` (0-based) starts only after every step in `after` succeeded (concurrent sagas). */
  addBranchOrder(step: number, after: number[]): this {
    for (const p of after) {
      if (!Number.isInteger(p) || p < 0 || p >= step) {
        throw new RangeError(`addBranchOrder(${step}): a prerequisite must be an earlier step index, got ${p}`);
      }
    }
    this.orders[String(step)] = [...after];
    return this;
  }

  enableConcurrent(): this {
    this.options.concurrent = true;
    return this;
  }

  /** The body posted to /submit. */
  body(): Record<string, unknown> {
    const o = this.options;
    const custom =
      o.concurrent || Object.keys(this.orders).length > 0 ? JSON.stringify({ concurrent: Boolean(o.concurrent), orders: this.orders }) : o.customData;
    const extra: Record<string, unknown> = { steps: this.steps, payloads: this.payloads.map((p) => this.transport.payload(p)) };
    if (o.retryLimit) extra.retry_limit = o.retryLimit;
    return transBody(this.gid, 'saga', { ...o, customData: custom }, extra);
  }

  /** Submits the saga. With `waitResult`, resolves only if it succeeded (Failure otherwise). */
  async submit(): Promise<void> {
    if (this.steps.length === 0) throw new TypeError('a saga needs at least one step');
    await this.transport.api('POST', 'submit', this.body());
  }
}
