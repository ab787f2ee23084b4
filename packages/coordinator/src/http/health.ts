// Readiness (docs/operations.md, "Health"): `GET /api/health/ready` answers 200 only when the store
// answers a query and, where a scheduler runs in this process, its loop completed a turn within the
// last few TransCronIntervals; 503 with the reason otherwise. `/api/ping` stays dtm's liveness
// route: it answers as long as the process serves HTTP, whatever the database does.
import type { FastifyInstance } from 'fastify';

export const READY_PATH = '/api/health/ready';
/** A store that does not answer within this long counts as down. */
const PING_TIMEOUT_MS = 2000;

export interface ReadinessProbe {
  /** A query against the store. */
  ping(): Promise<void>;
  /** The scheduler's health; absent when no scheduler runs in this process (the dashboard alone). */
  scheduler?: () => { ok: boolean; reason?: string };
}

export interface Readiness {
  status: 200 | 503;
  body: { status: 'ready' | 'unavailable'; reason?: string };
}

export async function checkReadiness(p: ReadinessProbe): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      p.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    return { status: 503, body: { status: 'unavailable', reason: `store: ${(err as Error).message}` } };
  } finally {
    clearTimeout(timer);
  }
  const s = p.scheduler?.();
  if (s && !s.ok) return { status: 503, body: { status: 'unavailable', reason: s.reason ?? 'scheduler unhealthy' } };
  return { status: 200, body: { status: 'ready' } };
}

/** Adds the readiness route to the coordinator's HTTP server. */
export function addReadinessRoute(app: FastifyInstance, probe: ReadinessProbe): void {
  app.get(READY_PATH, async (_req, reply) => {
    const r = await checkReadiness(probe);
    return reply.code(r.status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(r.body);
  });
}
