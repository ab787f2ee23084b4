// A clock that moves only when the test moves it: retry back-off, timeouts and lease expiry are
// then checked in virtual time instead of by sleeping (the engine reads time only from its Clock).
import type { Clock } from '@dtx/engine';

export class ManualClock implements Clock {
  private t: number;

  constructor(start = new Date('2026-01-01T00:00:00Z')) {
    this.t = start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  advance(seconds: number): void {
    this.t += seconds * 1000;
  }
}
