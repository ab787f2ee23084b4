// The transactions filter (what the list, the counts, the stuck view and bulk actions share) and
// its translation into a Prisma `where`, and the list's sort orders. Paging is keyset (on id,
// newest first, or on the sort column and id): a page costs the same on the millionth row as on
// the first.
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
const SECONDS = z
  .number()
  .int()
  .min(0)
  .max(10 * 365 * 86400)
  .optional();

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
  /** thresholds overriding the configured ones for this view (StuckThresholds) */
  stuckFailingSeconds: SECONDS,
  stuckFailedCalls: z.number().int().min(0).max(1_000_000).optional(),
  stuckOngoingSeconds: SECONDS,
  stuckOverdueSeconds: SECONDS,
  stuckAgeSeconds: SECONDS,
  /** only transactions whose current run of failed or ongoing calls is at this endpoint */
  failingAt: storableText().max(255).optional(),
  /** last error contains this text */
  errorText: storableText().max(200).optional(),
  /** retry_count range (failed branch calls so far) */
  retryMin: z.number().int().min(0).max(1_000_000_000).optional(),
  retryMax: z.number().int().min(0).max(1_000_000_000).optional(),
  /** update_time range, epoch ms */
  updatedFrom: z.number().int().nonnegative().optional(),
  updatedTo: z.number().int().nonnegative().optional(),
  /** finish_time (or rollback_time, for failed ones) range, epoch ms */
  finishedFrom: z.number().int().nonnegative().optional(),
  finishedTo: z.number().int().nonnegative().optional(),
  /** only transactions with a branch whose URL starts with this text (trans_branch_op.url) */
  branchUrl: storableText().max(1024).optional(),
});
export type Filter = z.infer<typeof filterSchema>;

/**
 * The list's sort orders besides the default (newest first, by id): the column each sorts by.
 * Each has an index that pages walk (docs/operations.md, "Sorting and saved views").
 */
export const SORT_COLUMNS = { created: 'createTime', updated: 'updateTime', nextRetry: 'nextCronTime', retries: 'retryCount' } as const;
export type SortKey = keyof typeof SORT_COLUMNS;
export const SORT_KEYS = Object.keys(SORT_COLUMNS) as SortKey[];

export const sortSchema = z.object({
  sort: z.enum(SORT_KEYS as [SortKey, ...SortKey[]]).optional(),
  /** descending (default) or ascending */
  dir: z.enum(['asc', 'desc']).optional(),
});
export type Sort = z.infer<typeof sortSchema>;

/** What a list view is: a filter and a sort order (the page's URL, a saved view). */
export const viewSchema = filterSchema.extend(sortSchema.shape).strict();
export type View = z.infer<typeof viewSchema>;

export type TransWhere = NonNullable<NonNullable<Parameters<PrismaClient['transGlobal']['findMany']>[0]>['where']>;

export function thresholdsOf(f: Filter, defaults: StuckThresholds): StuckThresholds {
  return {
    failingSeconds: f.stuckFailingSeconds ?? defaults.failingSeconds,
    failedCalls: f.stuckFailedCalls ?? defaults.failedCalls,
    ongoingSeconds: f.stuckOngoingSeconds ?? defaults.ongoingSeconds,
    overdueSeconds: f.stuckOverdueSeconds ?? defaults.overdueSeconds,
    ageSeconds: f.stuckAgeSeconds ?? defaults.ageSeconds,
  };
}

const before = (now: Date, seconds: number) => new Date(now.getTime() - seconds * 1000);

/**
 * Stuck (docs/operations.md, "The Stuck view"): unfinished, and its branch calls have failed
 * continuously for longer than N seconds or more than K times in a row, or a branch has answered
 * "ongoing" for longer than M seconds, or it is past due by more than the scheduler lag
 * threshold, or older than the age threshold. Every condition is a range on an indexed column
 * (status + fail_since, status + ongoing_since, status + next_cron_time, create_time): the runs
 * of answers are kept on the row by each pass (migration 0020).
 */
export function stuckWhere(t: StuckThresholds, now: Date): TransWhere {
  return {
    status: { in: [...UNFINISHED] },
    OR: [
      { failSince: { lt: before(now, t.failingSeconds) } },
      // a failed run has a start: the condition narrows the (status, fail_since) index range
      { failSince: { not: null }, failStreak: { gt: t.failedCalls } },
      { ongoingSince: { lt: before(now, t.ongoingSeconds) } },
      { nextCronTime: { lt: before(now, t.overdueSeconds) } },
      { createTime: { lt: before(now, t.ageSeconds) } },
    ],
  };
}

/** "45 s", "4 min", "2.5 h", "3 d" */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86400) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} d`;
}

/** The columns the stuck reason is made of. */
export interface StuckFacts {
  status: string;
  createTime: Date | null;
  nextCronTime: Date | null;
  failSince: Date | null;
  failStreak: number;
  ongoingSince: Date | null;
  failEndpoint: string;
  failDetail: string;
}

/**
 * Why stuckWhere matches a row, in words, the most telling reason first
 * ("failing for 4 min: 500 from stock-srv:8080/api/TransIn"); '' when it does not match.
 */
export function stuckReason(r: StuckFacts, t: StuckThresholds, now: Date): string {
  if (!(UNFINISHED as readonly string[]).includes(r.status)) return '';
  const at = r.failEndpoint ? `${r.failDetail} from ${r.failEndpoint}` : r.failDetail;
  const n = now.getTime();
  if (r.failSince && r.failSince < before(now, t.failingSeconds)) return `failing for ${shortDuration(n - r.failSince.getTime())}: ${at}`;
  if (r.failSince && r.failStreak > t.failedCalls) {
    return `${r.failStreak} failed calls in a row (for ${shortDuration(n - r.failSince.getTime())}): ${at}`;
  }
  if (r.ongoingSince && r.ongoingSince < before(now, t.ongoingSeconds)) {
    return `ongoing for ${shortDuration(n - r.ongoingSince.getTime())}${r.failEndpoint ? ` at ${r.failEndpoint}` : ''}`;
  }
  if (r.nextCronTime && r.nextCronTime < before(now, t.overdueSeconds)) {
    return `past due by ${shortDuration(n - r.nextCronTime.getTime())}: the scheduler has not run it`;
  }
  if (r.createTime && r.createTime < before(now, t.ageSeconds)) return `unfinished after ${shortDuration(n - r.createTime.getTime())}`;
  return '';
}

/** The largest string starting with `prefix` in binary order, for an index range scan. */
const prefixEnd = (prefix: string) => `${prefix}\u{10FFFF}`;

/**
 * "Starts with `prefix`", taken literally. SQLite and MySQL (utf8mb4_bin) compare bytes: a range
 * is exact, has no wildcards to escape, and uses an index on the column. PostgreSQL's collation
 * may not compare bytes: LIKE (Prisma's startsWith passes the text into the pattern as is, so its
 * wildcards % _ and the escape character \ are escaped here), with the varchar_pattern_ops index
 * where there is one (gid, migration 0003).
 */
function startsWith(dialect: Dialect, prefix: string) {
  return dialect === 'postgres' ? { startsWith: prefix.replace(/[\\%_]/g, '\\$&') } : { gte: prefix, lte: prefixEnd(prefix) };
}

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
      and.push({ gid: startsWith(o.dialect, gid) });
    } else {
      and.push({ gid });
    }
  }
  if (f.status?.length && !o.withoutStatus) and.push({ status: f.status.length === 1 ? f.status[0] : { in: f.status } });
  if (f.transType?.length) and.push({ transType: f.transType.length === 1 ? f.transType[0] : { in: f.transType } });
  if (f.createdFrom !== undefined) and.push({ createTime: { gte: new Date(f.createdFrom) } });
  if (f.createdTo !== undefined) and.push({ createTime: { lte: new Date(f.createdTo) } });
  if (f.failingAt)
    and.push({ failEndpoint: f.failingAt, status: { in: [...UNFINISHED] }, OR: [{ failSince: { not: null } }, { ongoingSince: { not: null } }] });
  const errorText = f.errorText?.trim();
  if (errorText) and.push({ lastError: { contains: errorText } });
  if (f.retryMin !== undefined) and.push({ retryCount: { gte: f.retryMin } });
  if (f.retryMax !== undefined) and.push({ retryCount: { lte: f.retryMax } });
  if (f.updatedFrom !== undefined) and.push({ updateTime: { gte: new Date(f.updatedFrom) } });
  if (f.updatedTo !== undefined) and.push({ updateTime: { lte: new Date(f.updatedTo) } });
  if (f.finishedFrom !== undefined || f.finishedTo !== undefined) {
    const range = {
      ...(f.finishedFrom !== undefined ? { gte: new Date(f.finishedFrom) } : {}),
      ...(f.finishedTo !== undefined ? { lte: new Date(f.finishedTo) } : {}),
    };
    and.push({ OR: [{ finishTime: range }, { rollbackTime: range }] });
  }
  // a subquery on trans_branch_op (no index on url: it reads the branch rows, docs/operations.md)
  const branchUrl = f.branchUrl?.trim();
  if (branchUrl) and.push({ branches: { some: { url: startsWith(o.dialect, branchUrl) } } });
  if (f.stuck) and.push(stuckWhere(thresholdsOf(f, o.stuck), o.now));
  const [first, ...rest] = and;
  if (!first) return {};
  return rest.length === 0 ? first : { AND: and };
}
