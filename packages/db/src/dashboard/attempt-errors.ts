// The newest failed call of a group of attempt rows, as the dashboard shows it: when, the answer in
// words (HTTP status, gRPC code, FAILURE) and the error text. Shared by the overview's failing
// endpoints and the Topics page's subscriber deliveries, which pick the rows by id (MAX(id)).
import { answerOf, type Outcome } from '@dtx/engine';
import type { SqlDriver } from '../drivers.ts';
import { placeholders } from '../values.ts';

export interface AttemptError {
  at: Date;
  answer: string;
  text: string;
}

/** The attempt rows of these ids (0 = none, skipped) as errors, by id. */
export async function attemptErrors(driver: SqlDriver, ids: number[]): Promise<Map<number, AttemptError>> {
  const wanted = [...new Set(ids.filter((id) => id > 0))];
  const out = new Map<number, AttemptError>();
  if (wanted.length === 0) return out;
  const rows = await driver.query(
    `SELECT id, started_at, http_status, grpc_code, outcome, error FROM branch_attempt WHERE id IN ${placeholders(wanted.length)}`,
    wanted,
  );
  for (const r of rows) {
    const text = String(r.error);
    out.set(Number(r.id), {
      at: r.started_at instanceof Date ? r.started_at : new Date(r.started_at as string | number),
      answer: answerOf({
        outcome: String(r.outcome) as Outcome,
        httpStatus: r.http_status === null ? undefined : Number(r.http_status),
        grpcCode: r.grpc_code === null ? undefined : Number(r.grpc_code),
        message: text,
      }),
      text,
    });
  }
  return out;
}
