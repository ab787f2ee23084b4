// TCC (docs/protocol/transactions.md §4.4): the client prepares the global, registers each
// branch's confirm/cancel with the coordinator and calls its try itself; submit when every try
// succeeded, abort otherwise. The coordinator then calls the confirms or the cancels.
import type { HttpTransport } from './http.js';
import { checkedGid, decodeReply, encodePayload, preparedGlobal, transBody, type Decoder, type Encoder, type TransOptions } from './trans.js';

export type TccOptions = TransOptions;

export class Tcc {
  readonly gid: string;
  private subBranch = 0;

  constructor(
    private readonly transport: HttpTransport,
    gid: string,
    readonly options: TccOptions = {},
    /** The branch id of the branch this Tcc runs in ('' for the global transaction itself). */
    readonly branchId = '',
  ) {
    this.gid = checkedGid(gid);
  }

  /** The next branch id: `01`, `02`, ... (prefixed by the parent's branch id in a nested TCC). */
  newSubBranchId(): string {
    if (this.subBranch >= 99) throw new RangeError('a TCC may have at most 99 branches per level');
    this.subBranch += 1;
    return this.branchId + String(this.subBranch).padStart(2, '0');
  }

  /**
   * Registers a branch (confirm/cancel URLs, the payload they will get) and calls its try with
   * the payload. Resolves to the try's reply: its bytes (the HTTP body, or the serialized gRPC
   * reply message), or what `decode` makes of them. A try answering 409 / FAILURE (gRPC Aborted)
   * throws Failure, 425 / ONGOING (FailedPrecondition) throws Ongoing, anything else throws
   * DtmError. '' for confirm or cancel means nothing to do. The payload is JSON, or bytes (a
   * Uint8Array, or `payload` run through `encode`): for gRPC branches (`host:port/pkg.Service/Method`,
   * through a grpc:// client) the protobuf request, and the try is then called over gRPC.
   */
  callBranch<T>(payload: T, tryUrl: string, confirmUrl: string, cancelUrl: string, encode?: Encoder<T>): Promise<Buffer>;
  callBranch<T, R>(payload: T, tryUrl: string, confirmUrl: string, cancelUrl: string, encode: Encoder<T> | undefined, decode: Decoder<R>): Promise<R>;
  async callBranch<T, R>(
    payload: T,
    tryUrl: string,
    confirmUrl: string,
    cancelUrl: string,
    encode?: Encoder<T>,
    decode?: Decoder<R>,
  ): Promise<R | Buffer> {
    const branchId = this.newSubBranchId();
    const data = encodePayload(payload, encode);
    await this.transport.api('POST', 'registerBranch', {
      gid: this.gid,
      trans_type: 'tcc',
      branch_id: branchId,
      data: this.transport.payload(data),
      confirm: confirmUrl,
      cancel: cancelUrl,
    });
    const reply = await this.transport.callBranch(
      'POST',
      tryUrl,
      { branch_id: branchId, dtm: this.transport.base, gid: this.gid, op: 'try', trans_type: 'tcc' },
      data,
      this.options.branchHeaders,
    );
    return decodeReply(reply, tryUrl, decode);
  }

  body(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return transBody(this.gid, 'tcc', this.options, extra);
  }
}

/**
 * Runs a TCC global transaction: prepare, `fn(tcc)` (which calls `tcc.callBranch` per branch),
 * then submit; if `fn` throws, abort with its message as the rollback reason and rethrow.
 * With `waitResult`, resolves after the confirms ran.
 */
export function tccGlobalTransaction<T>(transport: HttpTransport, gid: string, fn: (tcc: Tcc) => Promise<T>, options: TccOptions = {}): Promise<T> {
  const tcc = new Tcc(transport, gid, options);
  return preparedGlobal(
    transport,
    (extra) => tcc.body(extra),
    () => fn(tcc),
  );
}
