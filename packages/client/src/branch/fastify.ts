// Branch handlers for Fastify 4/5 (docs/client/branches.md). Typed structurally: this package
// does not load Fastify.
import { runBranch, type BranchHandler } from './context.js';

export interface FastifyRequestLike {
  query: unknown;
  body?: unknown;
}

export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  send(payload?: unknown): unknown;
}

/**
 * A Fastify route handler answering dtm's protocol: `app.post('/TransIn', dtmFastify(async (b) => ...))`.
 * Return nothing (or a JSON value) for SUCCESS; throw Failure to roll back, Ongoing to be asked later.
 */
export function dtmFastify<Req extends FastifyRequestLike>(handler: BranchHandler<Req>): (req: Req, reply: FastifyReplyLike) => Promise<unknown> {
  return async (req, reply) => {
    const a = await runBranch(req, req.query as Record<string, unknown>, req.body, handler);
    return reply.code(a.status).send(a.body);
  };
}
