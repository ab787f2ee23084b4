// The audit log's one write outside the dashboard: operator routes called over the coordinator's
// own API (forceStop, resetCronTime, topics; docs/security.md, "Audit"). Same table and columns
// as the dashboard's rows (packages/api writes those through Prisma).
import type { SqlConn } from './drivers.ts';

export interface AuditEntry {
  at: Date;
  actor: string;
  action: string;
  /** A gid or a topic name. */
  target: string;
  /** How many transactions the action named (1 for a gid, 0 otherwise). */
  gidCount: number;
  ok: boolean;
  /** Kept as JSON: the remote address, the transport, the outcome's message. */
  details: Record<string, unknown>;
}

export async function appendAudit(db: SqlConn, e: AuditEntry): Promise<void> {
  await db.run(
    'INSERT INTO audit_log (at, actor, action, reason, target, gid_count, succeeded, failed, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [e.at, e.actor, e.action, '', e.target, e.gidCount, e.ok ? 1 : 0, e.ok ? 0 : 1, JSON.stringify(e.details)],
  );
}
