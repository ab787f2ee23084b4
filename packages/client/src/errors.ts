// The outcomes of dtm's protocol as errors (docs/client/README.md "Errors"). A branch handler
// throws `Failure` to make the coordinator roll back (HTTP 409) and `Ongoing` to make it ask
// again later (HTTP 425); a call to the coordinator that dtm answers 409 or 425 rejects with the
// same classes, so one `instanceof` check works on both sides.

/** A definitive business failure: dtm's FAILURE (HTTP 409, gRPC Aborted). */
export class Failure extends Error {
  override readonly name = 'Failure';
  constructor(message = 'FAILURE', options?: ErrorOptions) {
    super(message, options);
  }
}

/** Not decided yet, ask again later: dtm's ONGOING (HTTP 425, gRPC FailedPrecondition). */
export class Ongoing extends Error {
  override readonly name = 'Ongoing';
  constructor(message = 'ONGOING', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The barrier of a msg's local transaction found its row already written (the msg was checked first). */
export class Duplicated extends Error {
  override readonly name = 'Duplicated';
  constructor(message = 'DUPLICATED') {
    super(message);
  }
}

/** Any other answer of the coordinator or of a branch: not 200, 409 or 425 (retryable). */
export class DtmError extends Error {
  override readonly name = 'DtmError';
  constructor(
    message: string,
    /** HTTP status of the answer; 0 when no answer came (connection refused, timeout). */
    readonly status: number,
    /** The body of the answer as text. */
    readonly body = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Classifies an HTTP answer the way dtm classifies a branch's answer (docs/protocol/branch-calls.md §4):
 * 425 or a body containing ONGOING → Ongoing; 409 or FAILURE → Failure; another status than 200 → DtmError.
 */
export function errorOfAnswer(status: number, body: string, what: string): Error | null {
  const text = body.trim();
  if (status === 425 || text.includes('ONGOING')) return new Ongoing(messageOf(text, 'ONGOING'));
  if (status === 409 || text.includes('FAILURE')) return new Failure(messageOf(text, 'FAILURE'));
  if (status !== 200) return new DtmError(`${what}: HTTP ${status} ${text}`, status, text);
  return null;
}

/** dtm's answers carry their text in `message` ({"dtm_result":"FAILURE","message":"..."}); else the body. */
function messageOf(text: string, fallback: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      for (const k of ['message', 'error']) {
        if (typeof o[k] === 'string' && o[k] !== '') return o[k];
      }
    }
  } catch {
    // not JSON: the text itself
  }
  return text || fallback;
}
