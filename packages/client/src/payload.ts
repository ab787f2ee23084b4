// Branch payloads as the builders keep them (JSON text or bytes) and as each transport carries
// them: text over HTTP, bytes over gRPC (docs/protocol/grpc-api.md §2, `BinPayloads`, `BusiPayload`).

/**
 * A branch payload. Encoded as JSON, as dtm's Go SDK and dtmcli-node do (so a string is sent
 * quoted); a Uint8Array / Buffer is sent as its bytes (over HTTP as UTF-8 text, over gRPC as the
 * request message: protobuf bytes); undefined = no body (GET).
 */
export type Payload = unknown;

/** A typed message's encoder, e.g. protobufjs `(m) => Req.encode(m).finish()`, or a proto-loader method's `requestSerialize`. */
export type Encoder<T> = (message: T) => Uint8Array;

/**
 * A branch reply's decoder, given the reply's bytes: over gRPC the serialized reply message
 * (protobufjs `(b) => Reply.decode(b)`, a proto-loader method's `responseDeserialize`), over HTTP
 * the response body (`(b) => JSON.parse(b.toString())`).
 */
export type Decoder<R> = (reply: Buffer) => R;

/** Runs a reply through its decoder (none: the bytes); a decoder that throws names the branch. */
export function decodeReply<R>(reply: Buffer, url: string, decode?: Decoder<R>): R | Buffer {
  if (!decode) return reply;
  try {
    return decode(reply);
  } catch (e) {
    throw new TypeError(`the reply of ${url} could not be decoded: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** A payload as a builder keeps it: JSON text, or bytes. The transport decides how it travels. */
export type EncodedPayload = string | Uint8Array;

export function encodePayload<T>(p: T, encode?: Encoder<T>): EncodedPayload {
  if (encode) {
    const bytes = encode(p);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`a payload encoder must return a Uint8Array, got ${typeof bytes}`);
    return bytes;
  }
  if (p === undefined) return '';
  if (p instanceof Uint8Array) return p;
  return JSON.stringify(p);
}

/** A payload as text (what HTTP carries): bytes as UTF-8. */
export function payloadText(p: EncodedPayload): string {
  return typeof p === 'string' ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('utf8');
}

/** A payload as bytes (what gRPC carries): text as UTF-8. */
export function payloadBytes(p: EncodedPayload): Buffer {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}
