// Where the engine reads the time of day. Tests pass a clock they move by hand (tests/support's
// ManualClock), so back-off, timeouts and schedules are checked without sleeping. (Lease
// deadlines use the monotonic clock instead: leases.ts.)
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
