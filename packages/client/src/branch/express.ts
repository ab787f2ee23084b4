// Branch handlers for Express 4/5 (docs/client/branches.md). Typed structurally: this package
// does not load Express.
import { runBranch, type BranchHandler } from './context.js';

/** What is used of an Express request (its query parsed, its body parsed by express.json()). */
export interface ExpressRequestLike {
  query: unknown;
  body?: unknown;
}

export interface ExpressResponseLike {
  status(code: number): ExpressResponseLike;
  json(body: unknown): unknown;
}

/**
 * An Express route handler answering dtm's protocol: `app.post('/TransIn', dtmExpress(async (b) => ...))`.
 * Return nothing (or a JSON value) for SUCCESS; throw Failure to roll back, Ongoing to be asked later.
 * Register `express.json()` before it for JSON bodies.
 */
export function dtmExpress<Req extends ExpressRequestLike>(handler: BranchHandler<Req>): (req: Req, res: ExpressResponseLike) => Promise<void> {
  return async (req, res) => {
    const a = await runBranch(req, req.query as Record<string, unknown>, req.body, handler);
    res.status(a.status).json(a.body);
  };
}
