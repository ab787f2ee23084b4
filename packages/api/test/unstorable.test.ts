// A NUL character in a gid or branch URL filter, a gid, a reason or a saved view of the dashboard's procedures: no store holds
// it (the coordinator refuses it at submit), PostgreSQL fails any statement carrying it. Every store
// answers BAD_REQUEST naming the problem, never an internal error, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@dtx/db';
import { silentLogger } from '@dtx/engine';
import { createCaller, createDashboard, type ApiDeps } from '@dtx/api';
import { testConfig } from '../../../tests/support/coordinator.ts';
import { freshStore, testStores } from '../../../tests/support/stores.ts';

describe.each(testStores())('dashboard input no store can hold, on %s', (storeName) => {
  let db: Database;
  let deps: ApiDeps;
  const admin = () => createCaller({ deps, user: { id: '1', username: 'admin', role: 'admin' }, setCookie: () => undefined, secure: false });

  beforeAll(async () => {
    const store = await freshStore(storeName, 'apinul');
    db = await openDatabase(store);
    deps = await createDashboard(testConfig(store), { logger: silentLogger, db });
  });
  afterAll(async () => {
    await db?.close();
  });

  const refused = { code: 'BAD_REQUEST', message: expect.stringMatching(/NUL character/) as unknown };

  it('gid filters, gids and reasons with NUL are refused with BAD_REQUEST', async () => {
    for (const gidMode of ['exact', 'prefix'] as const) {
      await expect(admin().transactions.list({ gid: 'a\u0000b', gidMode })).rejects.toMatchObject(refused);
      await expect(admin().transactions.counts({ gid: 'a\u0000b', gidMode })).rejects.toMatchObject(refused);
    }
    await expect(admin().transactions.get({ gid: 'a\u0000b' })).rejects.toMatchObject(refused);
    await expect(admin().transactions.list({ branchUrl: 'http://a\u0000b' })).rejects.toMatchObject(refused);
    await expect(admin().transactions.counts({ branchUrl: 'http://a\u0000b' })).rejects.toMatchObject(refused);
    await expect(admin().views.save({ name: 'a\u0000b', query: '' })).rejects.toMatchObject(refused);
    await expect(admin().views.save({ name: 'nul', query: 'branchUrl=a%00b' })).rejects.toMatchObject(refused);
    expect(await deps.prisma.dashboardView.count()).toBe(0);
    await expect(admin().audit.list({ gid: 'a\u0000b' })).rejects.toMatchObject(refused);
    // a real gid, a reason no store can hold: refused before the audit row is written
    const before = await deps.prisma.auditLog.count();
    await expect(admin().actions.run({ action: 'retry', gid: 'missing', reason: 'why\u0000' })).rejects.toMatchObject(refused);
    expect(await deps.prisma.auditLog.count()).toBe(before);
    // still answering
    expect((await admin().transactions.list({ gid: 'a' })).items).toEqual([]);
  });
});
