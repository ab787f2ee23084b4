// JSON shapes of dtm's query/all/prepareWorkflow replies (docs/protocol/http-api.md §5): Go field order,
// omit-empty rules, RFC 3339 times with the server's UTC offset.
import type { BranchRow, GlobalRow, KvRow } from '@dtx/db';

export class TimeFormat {
  /** Fixed offset in minutes, or null for the process's local zone. */
  constructor(private readonly fixedOffsetMinutes: number | null = null) {}

  static fromConfig(timeZoneOffset: string): TimeFormat {
    const t = timeZoneOffset.trim();
    return new TimeFormat(t === '' ? null : Number(t) * 60);
  }

  /** Like Go's time.Time JSON: RFC 3339 with fractional seconds trimmed, "Z" for offset 0. */
  format(d: Date): string {
    const offset = this.fixedOffsetMinutes ?? -d.getTimezoneOffset();
    const local = new Date(d.getTime() + offset * 60_000);
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    let s =
      `${p(local.getUTCFullYear(), 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}` +
      `T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}`;
    const ms = local.getUTCMilliseconds();
    if (ms) s += `.${p(ms, 3)}`.replace(/0+$/, '');
    if (offset === 0) return `${s}Z`;
    const a = Math.abs(offset);
    return `${s}${offset < 0 ? '-' : '+'}${p(Math.floor(a / 60))}:${p(a % 60)}`;
  }
}

type Json = Record<string, unknown>;

function put(out: Json, key: string, value: unknown): void {
  if (value === '' || value === null || value === undefined || value === 0) return;
  out[key] = value;
}

export function renderGlobal(g: GlobalRow, tf: TimeFormat): Json {
  const out: Json = {
    id: g.id,
    create_time: g.createTime ? tf.format(g.createTime) : null,
    update_time: g.updateTime ? tf.format(g.updateTime) : null,
  };
  put(out, 'gid', g.gid);
  put(out, 'trans_type', g.transType);
  put(out, 'status', g.status);
  put(out, 'query_prepared', g.queryPrepared);
  put(out, 'protocol', g.protocol);
  put(out, 'finish_time', g.finishTime && tf.format(g.finishTime));
  put(out, 'rollback_time', g.rollbackTime && tf.format(g.rollbackTime));
  put(out, 'result', g.result);
  put(out, 'rollback_reason', g.rollbackReason);
  put(out, 'options', g.options);
  put(out, 'custom_data', g.customData);
  put(out, 'next_cron_interval', g.nextCronInterval);
  put(out, 'next_cron_time', g.nextCronTime && tf.format(g.nextCronTime));
  put(out, 'owner', g.owner);
  put(out, 'ext_data', g.extData);
  out.concurrent = false;
  return out;
}

export function renderBranch(b: BranchRow, tf: TimeFormat): Json {
  const out: Json = {
    id: b.id,
    create_time: b.createTime ? tf.format(b.createTime) : null,
    update_time: b.updateTime ? tf.format(b.updateTime) : null,
  };
  put(out, 'gid', b.gid);
  put(out, 'url', b.url);
  put(out, 'bin_data', b.binData && b.binData.length ? b.binData.toString('base64') : '');
  put(out, 'branch_id', b.branchId);
  put(out, 'op', b.op);
  put(out, 'status', b.status);
  put(out, 'finish_time', b.finishTime && tf.format(b.finishTime));
  put(out, 'rollback_time', b.rollbackTime && tf.format(b.rollbackTime));
  return out;
}

/** prepareWorkflow reply, parsed by the Go workflow SDK with protobuf-JSON rules. */
export function renderProgresses(g: GlobalRow, branches: BranchRow[], tf: TimeFormat): Json {
  return {
    transaction: renderGlobal(g, tf),
    progresses: branches.map((b) => ({
      status: b.status,
      bin_data: b.binData ? b.binData.toString('base64') : '',
      branch_id: b.branchId,
      op: b.op,
    })),
  };
}

/** KV record (dtm's KVStore: no omit-empty). */
export function renderKv(r: KvRow, tf: TimeFormat): Json {
  return {
    id: r.id,
    create_time: r.createTime ? tf.format(r.createTime) : null,
    update_time: r.updateTime ? tf.format(r.updateTime) : null,
    cat: r.cat,
    k: r.k,
    v: r.v ?? '',
    version: r.version,
  };
}
