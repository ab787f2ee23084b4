// Login attempt limits (docs/security.md, "Dashboard"), kept in the database so that they hold
// across every dashboard instance and under any concurrency: one attempt is taken per remote
// address and per username BEFORE the password is hashed, with an atomic increment of a counter
// (packages/db/src/dashboard/login-limit.ts, which also says why it is not rate-limiter-flexible),
// so 200 parallel guesses evaluate at most `Dashboard.LoginUserAttempts` hashes per window. A
// window lasts `Dashboard.LoginWindowSeconds` from its first attempt; after it the right password
// works again (no lock-out that lasts). A successful login clears the username's counter and
// gives its attempt back to the address.
import { createHash } from 'node:crypto';
import { clearLoginAttempts, pruneLoginAttempts, returnLoginAttempt, takeLoginAttempt, type Database } from '@dtx/db';
import type { Clock } from '@dtx/engine';

export interface LoginLimits {
  userAttempts: number;
  addressAttempts: number;
  windowSeconds: number;
}

export type Reservation =
  | { ok: true }
  /** `lockedNow`: this attempt is the first one refused in the window (audited as a lock-out). */
  | { ok: false; scope: 'user' | 'address'; retryAfterSeconds: number; lockedNow: boolean };

/** Keys fit the 128-character column: long values are hashed. */
const keyOf = (kind: 'user' | 'addr', s: string) => `${kind}:${s.length <= 100 ? s : `#${createHash('sha256').update(s).digest('hex')}`}`;

const PRUNE_EVERY_MS = 60_000;

export class LoginGuard {
  private prunedAt = 0;

  constructor(
    private readonly db: Database,
    private readonly limits: LoginLimits,
    private readonly clock: Clock,
  ) {}

  /** Takes one attempt for this address and username, or says why and for how long not. */
  async reserve(username: string, address: string): Promise<Reservation> {
    const now = this.clock.now();
    const windowMs = this.limits.windowSeconds * 1000;
    const byAddress = await takeLoginAttempt(this.db.driver, keyOf('addr', address), windowMs, now);
    if (byAddress.count > this.limits.addressAttempts) return refused('address', byAddress, this.limits.addressAttempts, now);
    const byUser = await takeLoginAttempt(this.db.driver, keyOf('user', username), windowMs, now);
    if (byUser.count > this.limits.userAttempts) return refused('user', byUser, this.limits.userAttempts, now);
    return { ok: true };
  }

  /** The password was right: the username starts afresh, the address gets its attempt back. */
  async succeeded(username: string, address: string): Promise<void> {
    await clearLoginAttempts(this.db.driver, keyOf('user', username));
    await returnLoginAttempt(this.db.driver, keyOf('addr', address));
    const now = this.clock.now();
    if (now.getTime() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = now.getTime();
      await pruneLoginAttempts(this.db.driver, now);
    }
  }
}

function refused(scope: 'user' | 'address', a: { count: number; resetsAt: number }, limit: number, now: Date): Reservation {
  return { ok: false, scope, retryAfterSeconds: Math.max(1, Math.ceil((a.resetsAt - now.getTime()) / 1000)), lockedNow: a.count === limit + 1 };
}
