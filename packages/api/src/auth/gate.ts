// At most `limit` holders at once; the others wait in line (first come, first served). Used to
// bound password hashing (auth/password.ts) and whole login checks (routers/auth.ts), so that a
// burst of logins queues here, in memory, instead of in the thread pool or the database pool the
// coordinator shares (docs/security.md, "Dashboard").
export class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private limit: number) {}

  setLimit(n: number): void {
    this.limit = Math.max(1, Math.floor(n));
    while (this.running < this.limit && this.waiting.length) {
      this.running++;
      this.waiting.shift()!();
    }
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
