// The transactions filter (what the list, the counts, the stuck view and bulk actions share) and
// its translation into a Prisma `where`. Paging is keyset on id (newest first): a page costs the
// same on the millionth row as on the first.
import { z } from 'zod';
import type { PrismaClient } from '@dtx/db';
import type { Dialect } from '@dtx/db';
import type { StuckThresholds } from './deps.ts';

// The browser imports this file (checkboxes, URL parsing), so it cannot import the engine: the
// vocabulary is spelled out here and test/vocabulary.test.ts holds it equal to the engine's
// (status.ts, types/registry.ts).
export const STATUSES = ['prepared', 'submitted', 'aborting', 'succeed', 'failed'] as const;
export const UNFINISHED = ['prepared', 'submitted', 'aborting'] as const;
export const TRANS_TYPES = ['saga', 'tcc', 'msg', 'xa', 'workflow'] as const;

/**
 * Text some store can hold: no NUL, no unpaired UTF-16 surrogate. The coordinator refuses the
 * others at submit (docs/compatibility.md, "Refused at submit"), so no row holds them, and
 * PostgreSQL fails any statement that carries them: inputs that reach a query use this, for a
 * clean BAD_REQUEST. (The engine's isStorable; test/vocabulary.test.ts holds the two equal.)
 */
// eslint-disable-next-line no-control-regex -- finding NUL is the point of this pattern
export const STORABLE = /^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/;
export const storableText = () => z.string().regex(STORABLE, 'contains a NUL character or an unpaired UTF-16 surrogate, which no store can hold');

export const filterSchema = z.object({
  gid: storableText().max(128).optional(),
  /** exact (default) or prefix match of gid */
  gidMode: z.enum(['exact', 'prefix']).optional(),
  status: z.array(z.enum(STATUSES)).max(5).optional(),
  transType: z.array(z.enum(TRANS_TYPES)).max(5).optional(),
  /** create_time range, epoch ms */
  createdFrom: z.number().int().nonnegative().optional(),
  createdTo: z.number().int().nonnegative().optional(),
  /** only stuck transactions (see stuckWhere) */
  stuck: z.boolean().optional(),
  /** thresholds overriding the configured ones for this view */
  stuckOverdueSeconds: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86400)
    .optional(),
  stuckRetryCount: z.number().int().min(0).max(1_000_000).optional(),
  stuckAgeSeconds: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 86400)
    .optional(),
});
export type Filter = z.infer<typeof filterSchema>;

export type TransWhere = NonNullable<NonNullable<Parameters<PrismaClient['transGlobal']['findMany']>[0]>['where']>;

export function thresholdsOf(f: Filter, defaults: StuckThresholds): StuckThresholds {
  return {
    overdueSeconds: f.stuckOverdueSeconds ?? defaults.overdueSeconds,
    retryCount: f.stuckRetryCount ?? defaults.retryCount,
    ageSeconds: f.stuckAgeSeconds ?? defaults.ageSeconds,
  };
}

/**
 * Stuck: unfinished, and past due (the scheduler should have run it by now), or retried more
 * than N times, or older than a threshold.
 */
export function stuckWhere(t: StuckThresholds, now: Date): TransWhere {
  return {
    status: { in: [...UNFINISHED] },
    OR: [
      { nextCronTime: { lt: new Date(now.getTime() - t.overdueSeconds * 1000) } },
      { retryCount: { gt: t.retryCount } },
      { createTime: { lt: new Date(now.getTime() - t.ageSeconds * 1000) } },
    ],
  };
}

/** The largest string starting with `prefix` in binary order, for an index range scan. */
const prefixEnd = (prefix: string) => `${prefix}\u{10FFFF}`;

export interface WhereOptions {
  dialect: Dialect;
  now: Date;
  stuck: StuckThresholds;
  /** leave the status filter out (counts per status) */
  withoutStatus?: boolean;
}

export function whereOf(f: Filter, o: WhereOptions): TransWhere {
  const and: TransWhere[] = [];
  const gid = f.gid?.trim();
  if (gid) {
    if (f.gidMode === 'prefix') {
      // SQLite and MySQL (utf8mb4_bin) compare bytes: a range is exact and uses the gid index.
      // PostgreSQL's collation may not: LIKE with the varchar_pattern_ops index (migration 0003).
      and.push(
        // Prisma passes startsWith into LIKE as is: its wildcards are escaped here.
        o.dialect === 'postgres' ? { gid: { startsWith: gid.replace(/[\\%_]/g, '\\$&') } } : { gid: { gte: gid, lte: prefixEnd(gid) } },
      );
    } else {
      and.push({ gid });
    }
  }
  if (f.status?.length && !o.withoutStatus) and.push({ status: f.status.length === 1 ? f.status[0] : { in: f.status } });
  if (f.transType?.length) and.push({ transType: f.transType.length === 1 ? f.transType[0] : { in: f.transType } });
  if (f.createdFrom !== undefined) and.push({ createTime: { gte: new Date(f.createdFrom) } });
  if (f.createdTo !== undefined) and.push({ createTime: { lte: new Date(f.createdTo) } });
  if (f.stuck) and.push(stuckWhere(thresholdsOf(f, o.stuck), o.now));
  const [first, ...rest] = and;
  if (!first) return {};
  return rest.length === 0 ? first : { AND: and };
}
