// Optional bearer tokens of the coordinator's API (ApiAuth.*, docs/security.md "API tokens"):
// ApiAuth.Token for every dtm API call, ApiAuth.OperatorToken for the operator routes; both off
// by default, as in dtm. The same rules over HTTP (`Authorization: Bearer`), JSON-RPC (the same
// header) and gRPC (`authorization` metadata). Operator routes are also written to the audit log.
import { createHash, timingSafeEqual } from 'node:crypto';
import { appendAudit, type SqlConn } from '@dtx/db';
import type { Logger } from '@dtx/engine';

/** What a route needs: any valid token, or the operator's. */
export type Access = 'service' | 'operator';

export type Verdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

const digest = (s: string) => createHash('sha256').update(s).digest();

export class ApiAuth {
  private readonly token: Buffer | null;
  private readonly operator: Buffer | null;

  constructor(tokens: { Token: string; OperatorToken: string }) {
    this.token = tokens.Token ? digest(tokens.Token) : null;
    this.operator = tokens.OperatorToken ? digest(tokens.OperatorToken) : null;
  }

  get enabled(): boolean {
    return this.token !== null || this.operator !== null;
  }

  /** `authorization` is the header (or metadata) value as received. */
  check(authorization: string | undefined, access: Access): Verdict {
    // Operator routes need the operator token when there is one, else the service token.
    const needed = access === 'operator' ? (this.operator ?? this.token) : this.token;
    if (!needed) return { ok: true };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Digests of equal length, compared in constant time: the comparison tells nothing about the token.
    const given = m?.[1] ? digest(m[1]) : null;
    const is = (t: Buffer | null) => !!t && !!given && timingSafeEqual(t, given);
    if (is(needed) || (access === 'service' && is(this.operator))) return { ok: true };
    const key = needed === this.operator ? 'ApiAuth.OperatorToken' : 'ApiAuth.Token';
    if (access === 'operator' && is(this.token)) {
      return { ok: false, status: 403, message: `this route needs the operator token (${key}); the service token cannot call it` };
    }
    return { ok: false, status: 401, message: `${given ? 'invalid' : 'missing'} bearer token (${key}): send 'Authorization: Bearer <token>'` };
  }
}

/** Audit rows of operator routes called over the API: actor `api`, the remote address, the target. */
export class OperatorAudit {
  constructor(
    private readonly db: SqlConn,
    private readonly log: Logger,
  ) {}

  /** Runs `fn` and records it, whatever its outcome; the outcome is returned (or thrown) unchanged. */
  async run<T>(
    entry: { action: string; target: string; gid?: boolean; remote: string; via: 'http' | 'grpc'; details?: Record<string, unknown> },
    fn: () => Promise<T>,
  ): Promise<T> {
    let ok = true;
    let message = 'done';
    try {
      return await fn();
    } catch (err) {
      ok = false;
      message = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      await appendAudit(this.db, {
        at: new Date(),
        actor: 'api',
        action: entry.action,
        target: entry.target,
        gidCount: entry.gid ? 1 : 0,
        ok,
        details: { ...entry.details, remote: entry.remote, via: entry.via, ok, message },
      }).catch((err: Error) => this.log.warn({ err: err.message, action: entry.action }, 'audit log write failed'));
    }
  }
}
