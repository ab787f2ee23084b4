// Login attempt limits (docs/security.md, "Dashboard"), kept in the database so that they hold
// across every dashboard instance and under any concurrency: one attempt is reserved per username
// and per remote address BEFORE the password is hashed, with an atomic increment of a counter in
// the `login_limit` table, so 200 parallel guesses evaluate at most `Dashboard.LoginUserAttempts`
// hashes. A counter lives for `Dashboard.LoginWindowSeconds` from its first attempt; after that
// the right password works again (no permanent lock-out). A successful login clears the
// username's counter and gives its point back to the address.
//
// The counters are rate-limiter-flexible's, through its Prisma store on our own table (created by
// prisma/migrations/*/0012_dashboard_sessions.sql). Its SQL stores do not fit: the MySQL one needs
// the `mysql`/`mysql2` driver (we use `mariadb`), the SQLite one would write on the better-sqlite3
// connection behind the store's group commit, the PostgreSQL one would need a pool of its own.
// On MySQL Prisma emulates the upsert (read, then insert), so two first attempts for one key can
// race on the insert; the loser gets a unique-key error and is retried once (the row exists then).
import { createHash } from 'node:crypto';
import { RateLimiterPrisma, RateLimiterRes } from 'rate-limiter-flexible';
import type { PrismaClient } from '@dtx/db';

export interface LoginLimits {
  userAttempts: number;
  addressAttempts: number;
  windowSeconds: number;
}

export type Reservation =
  | { ok: true }
  /** `lockedNow`: this attempt is the first one refused in the window (audited as a lock-out). */
  | { ok: false; scope: 'user' | 'address'; retryAfterSeconds: number; lockedNow: boolean };

/** Keys fit the 128-character column: long usernames are hashed. */
const keyPart = (s: string) => (s.length <= 64 ? s : `#${createHash('sha256').update(s).digest('hex').slice(0, 40)}`);

export class LoginGuard {
  private readonly byUser: RateLimiterPrisma;
  private readonly byAddress: RateLimiterPrisma;

  constructor(
    prisma: PrismaClient,
    private readonly limits: LoginLimits,
  ) {
    const common = { storeClient: prisma, tableName: 'loginLimit', duration: limits.windowSeconds };
    this.byUser = new RateLimiterPrisma({ ...common, keyPrefix: 'user', points: limits.userAttempts });
    this.byAddress = new RateLimiterPrisma({ ...common, keyPrefix: 'addr', points: limits.addressAttempts });
  }

  /** Takes one attempt for this address and username, or says why and for how long not. */
  async reserve(username: string, address: string): Promise<Reservation> {
    const byAddress = await consume(this.byAddress, keyPart(address));
    if (byAddress) return refused('address', byAddress, this.limits.addressAttempts);
    const byUser = await consume(this.byUser, keyPart(username));
    if (byUser) return refused('user', byUser, this.limits.userAttempts);
    return { ok: true };
  }

  /** The password was right: the username starts afresh, the address gets its point back. */
  async succeeded(username: string, address: string): Promise<void> {
    await this.byUser.delete(keyPart(username));
    await this.byAddress.reward(keyPart(address), 1);
  }
}

function refused(scope: 'user' | 'address', r: RateLimiterRes, points: number): Reservation {
  return { ok: false, scope, retryAfterSeconds: Math.max(1, Math.ceil(r.msBeforeNext / 1000)), lockedNow: r.consumedPoints === points + 1 };
}

/** Null when the point was taken; the limiter's answer when the limit is reached. */
async function consume(limiter: RateLimiterPrisma, key: string): Promise<RateLimiterRes | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      await limiter.consume(key);
      return null;
    } catch (err) {
      if (err instanceof RateLimiterRes) return err;
      if (attempt >= 1) throw err; // fail closed: no password check without a counted attempt
    }
  }
}
