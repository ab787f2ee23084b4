// Msg, dtm's two-phase message (docs/protocol/transactions.md §4.2): prepare, local transaction,
// submit; or doAndSubmit, which runs the local transaction through the barrier so that the
// coordinator's query-prepared check can tell whether it committed (docs/client/msg.md).
import { BranchBarrier } from './barrier/core.js';
import { Failure } from './errors.js';
import type { HttpTransport } from './http.js';
import { checkedGid, checkedSeconds, encodePayload, transBody, type EncodedPayload, type Encoder, type Payload, type TransOptions } from './trans.js';

export interface MsgOptions extends TransOptions {
  /** Call the actions in parallel instead of one by one. */
  concurrent?: boolean;
  /** Seconds the coordinator waits after submit before calling the actions. */
  delay?: number;
}

export class Msg {
  readonly gid: string;
  private readonly steps: { action: string }[] = [];
  private readonly payloads: EncodedPayload[] = [];
  private queryPreparedUrl = '';

  constructor(
    private readonly transport: HttpTransport,
    gid: string,
    readonly options: MsgOptions = {},
  ) {
    this.gid = checkedGid(gid);
  }

  /**
   * Adds an action (called once the msg is submitted; must eventually succeed). The payload is
   * JSON, or bytes (a Uint8Array, or `payload` run through `encode`): a gRPC action's protobuf request.
   */
  add<T>(action: string, payload?: T, encode?: Encoder<T>): this {
    const p = encodePayload(payload, encode as Encoder<T | undefined> | undefined);
    this.steps.push({ action });
    this.payloads.push(p);
    return this;
  }

  /** Adds a topic: every URL subscribed to it gets the payload. */
  addTopic(topic: string, payload?: Payload): this {
    return this.add(`topic://${topic}`, payload);
  }

  body(phase: 'prepare' | 'submit' | 'abort'): Record<string, unknown> {
    const o = this.options;
    // The Go SDK sends the delay only at submit (transactions.md §4.2 "Delay").
    const custom = phase === 'submit' && o.delay ? JSON.stringify({ delay: checkedSeconds('delay', o.delay) }) : o.customData;
    const extra: Record<string, unknown> = { steps: this.steps, payloads: this.payloads.map((p) => this.transport.payload(p)) };
    if (o.concurrent) extra.concurrent = true;
    if (this.queryPreparedUrl) extra.query_prepared = this.queryPreparedUrl;
    return transBody(this.gid, 'msg', { ...o, customData: custom }, extra);
  }

  /** Creates the msg in `prepared`; the coordinator asks `queryPrepared` if it is never submitted. */
  async prepare(queryPrepared: string): Promise<void> {
    this.queryPreparedUrl = queryPrepared;
    await this.transport.api('POST', 'prepare', this.body('prepare'));
  }

  async submit(): Promise<void> {
    if (this.steps.length === 0) throw new TypeError('a msg needs at least one action');
    await this.transport.api('POST', 'submit', this.body('submit'));
  }

  /** Fails a prepared msg (no action is called). */
  async abort(): Promise<void> {
    await this.transport.api('POST', 'abort', this.body('abort'));
  }

  /**
   * prepare → `busi(barrier)` → submit. `busi` runs its local transaction through the given
   * barrier (`barrier.call(pgDb(pool), ...)`), whose row lets `queryPrepared` answer for it.
   * `busi` throwing Failure aborts the msg; another error makes this SDK ask `queryPrepared`
   * itself: FAILURE → abort, SUCCESS → submit, anything else → neither (the coordinator asks
   * later). The business error is rethrown in every case.
   */
  async doAndSubmit(queryPrepared: string, busi: (barrier: BranchBarrier) => Promise<unknown>): Promise<void> {
    const barrier = new BranchBarrier('msg', this.gid, '00', 'msg');
    await this.prepare(queryPrepared);
    let busiFailed = false;
    let busiError: unknown;
    let queryFailed = false;
    let queryError: unknown;
    try {
      await busi(barrier);
    } catch (e) {
      busiFailed = true;
      busiError = e;
    }
    if (busiFailed && !(busiError instanceof Failure)) {
      try {
        // GET without a body over HTTP; an empty message for a gRPC check (a grpc:// client).
        await this.transport.callBranch(
          'GET',
          queryPrepared,
          { branch_id: '00', dtm: this.transport.base, gid: this.gid, op: 'msg', trans_type: 'msg' },
          undefined,
          this.options.branchHeaders,
        );
      } catch (e) {
        queryFailed = true;
        queryError = e;
      }
    }
    if (busiError instanceof Failure || queryError instanceof Failure) {
      // As the Go SDK: a failed abort is left to the coordinator's own query-prepared check.
      await this.abort().catch(() => undefined);
    } else if (!queryFailed) {
      await this.submit();
    }
    if (busiFailed) throw busiError;
    if (queryFailed) throw queryError;
  }
}
