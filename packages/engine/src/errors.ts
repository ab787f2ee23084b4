// Error classes the engine throws; transports map each kind to dtm's status codes in one place
// (HTTP: 409 / 425 / 400 / 413 / 500, gRPC: Aborted / FailedPrecondition / InvalidArgument / ...).

export type ErrorKind =
  /** dtm's FAILURE class: HTTP 409, gRPC Aborted. The message ends with "FAILURE". */
  | 'failure'
  /** dtm's ONGOING class: HTTP 425, gRPC FailedPrecondition. */
  | 'ongoing'
  /** Malformed request that dtm would only have panicked on: HTTP 400, gRPC InvalidArgument. */
  | 'bad-request'
  /** Request body over the configured limit: HTTP 413, gRPC ResourceExhausted. */
  | 'too-large'
  /**
   * The database could not be reached and the operation did not run (nothing was stored): HTTP
   * 503 with Retry-After, gRPC Unavailable. Retrying is safe. (Ours: dtm answers 500.)
   */
  | 'unavailable'
  /** Any other error (HTTP 500). `panic` marks errors dtm raises by panicking (gRPC Internal). */
  | 'error';

export class DtmError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly panic = false,
  ) {
    super(message);
    this.name = 'DtmError';
  }
}

/** dtm's ErrorMessage2Error: "<text> FAILURE", unless the text already ends with the word. */
export function failure(message: string): DtmError {
  return new DtmError(withSuffix(message, 'FAILURE'), 'failure');
}

export function ongoing(message = 'ONGOING'): DtmError {
  return new DtmError(message, 'ongoing');
}

export function badRequest(message: string): DtmError {
  return new DtmError(message, 'bad-request');
}

export function internal(message: string, panic = false): DtmError {
  return new DtmError(message, 'error', panic);
}

export function withSuffix(message: string, word: string): string {
  return message.endsWith(word) ? message : message ? `${message} ${word}` : word;
}

export function errorKind(err: unknown): ErrorKind {
  return err instanceof DtmError ? err.kind : 'error';
}

/** dtm's storage.ErrNotFound text, which its clients see when a compare-and-set lost. */
export const STORAGE_NOT_FOUND = 'storage: NotFound';

/**
 * A compare-and-set on a global's status lost: another actor (a pass on some instance, an
 * operator, the client) changed it first, or the row is gone. dtm panics with
 * storage.ErrNotFound here; the transports answer what dtm answers (HTTP 500, gRPC Internal).
 */
export class CasLostError extends DtmError {
  constructor(
    readonly gid: string,
    /** The status the caller expected the global to have. */
    readonly expected: string,
    /** The status it tried to set. */
    readonly wanted: string,
  ) {
    super(STORAGE_NOT_FOUND, 'error', true);
    this.name = 'CasLostError';
  }
}

/**
 * A pass cannot be sure that its lease covers its next branch call (a renewal failed or did not
 * find the row under its token, see leases.ts): it stops before the call and leaves the lease to
 * expire.
 */
export class StaleLeaseError extends DtmError {
  constructor(
    readonly gid: string,
    readonly token: string,
  ) {
    super(STORAGE_NOT_FOUND, 'error', true);
    this.name = 'StaleLeaseError';
  }
}

/** A gid that the operation needs does not exist (dtm's "no TransGlobal with gid" panics). */
export class TransNotFoundError extends DtmError {
  constructor(readonly gid: string) {
    super(`no TransGlobal with gid: ${gid} found`, 'error', true);
    this.name = 'TransNotFoundError';
  }
}
