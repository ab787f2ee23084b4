// The chaos harness's short version (packages/chaos; the long runs are `pnpm chaos`, results in
// docs/reliability.md): about 200 sagas, 10% of them rolling back, submitted while the only
// coordinator is SIGKILLed and restarted a few times and, on PostgreSQL and MariaDB, while the
// database is frozen (SIGSTOP) for longer than the pool waits for a connection. The database
// server is the harness's own (own port, temporary directory), never the shared test databases.
// Fails on any acknowledged saga lost, any outcome dtm's saga semantics forbid, and any two calls
// of one saga that ran at the same time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StoreName } from '../packages/chaos/src/databases.ts';
import { scenarios, type Fault } from '../packages/chaos/src/faults.ts';
import { broken, details, row, table } from '../packages/chaos/src/report.ts';
import { runChaos } from '../packages/chaos/src/run.ts';
import { testStores } from './support/stores.ts';

// The MariaDB connector's acquireTimeout (packages/db/src/drivers.ts) is 20 s and not
// configurable; pg.Pool there has no connectionTimeoutMillis, so it waits as long as it takes.
// The outage outlasts the former (and the 10 s lease, RetryInterval's minimum).
const POOL_ACQUIRE_TIMEOUT_S = 20;
const OUTAGE_S = POOL_ACQUIRE_TIMEOUT_S + 5;

// This case found a real bug: a submit whose INSERT waited out an outage longer than the lease
// wrote a lease that had already run out, the scheduler claimed the row at once and two passes
// called the same branches at the same time. Fixed by lease fencing (packages/engine/src/leases.ts:
// lease times by the database's clock, and a pass never calls a branch its lease may not cover).

// A third of the branch calls answer 400 ms late (well within the 3 s request timeout), so that
// many passes are in the middle of a call when a kill or the outage hits.
const script = { failPct: 0, slowPct: 30, slowMs: 400 };

async function check(store: StoreName, sagas: number, rate: number, faults: Fault[]): Promise<void> {
  const outDir = mkdtempSync(join(tmpdir(), `dtx-chaos-test-${store}-`));
  const r = await runChaos({
    store,
    instances: 1,
    faults,
    sagas,
    rollbackPct: 10,
    concurrency: 16,
    rate,
    script,
    retryInterval: 1,
    drainS: 90,
    maxSubmitS: 60,
    outDir,
  });
  const summary = `${table([row(r)])}\n${details(r, 20)}`;
  console.log(summary);
  const p = r.report;
  // The faults happened and the run did real work: otherwise it proves nothing.
  for (const f of faults) {
    const mark = f.kind === 'kill' ? 'SIGKILL' : 'frozen';
    expect(r.events.filter((e) => e.what.includes(mark)).length, summary).toBeGreaterThanOrEqual(1);
  }
  expect(p.submitted, summary).toBe(sagas);
  // Submits are refused while the coordinator restarts (3-10 s here): 30-55% get through.
  expect(p.acknowledged, summary).toBeGreaterThanOrEqual(sagas / 10);
  expect(p.succeed + p.failed, summary).toBeGreaterThanOrEqual(p.acknowledged);
  expect(p.lost, summary).toEqual({ notInStore: [], unfinished: [] });
  expect(p.illegal, summary).toEqual([]);
  expect(p.overlapping, summary).toEqual([]);
  expect(broken(r)).toBe(false);
  rmSync(outDir, { recursive: true, force: true });
}

describe.each(testStores())('chaos on %s', (store) => {
  // ~25 s of submitting with a kill every 2-3 s once the coordinator is back (a restart takes
  // 3-8 s on this loaded 2-core machine): three or four kills.
  it('200 sagas while the coordinator is SIGKILLed and restarted', () => check(store, 200, 8, [{ kind: 'kill', every: [2, 3] }]), 180_000);

  // The `kill-then-outage` scenario: one kill 3-4 s in (the restarted coordinator's scheduler has
  // the killed one's sagas to recover, their leases expiring during the outage), the freeze from
  // ~14 s for 25 s, submitting for ~40 s.
  const killThenOutage = scenarios['kill-then-outage'].faults;
  it.skipIf(store === 'sqlite')(
    `200 sagas across a kill, then a ${OUTAGE_S} s database freeze (longer than the pool's acquire timeout)`,
    () => {
      expect(killThenOutage.find((f) => f.kind === 'outage')?.seconds).toBe(OUTAGE_S);
      return check(store, 200, 5, killThenOutage);
    },
    180_000,
  );
});
