// The dashboard's tRPC router: what apps/web calls (through React Query) and what the HTTP API
// for scripts maps onto.
import { actionsRouter } from './routers/actions.ts';
import { auditRouter } from './routers/audit.ts';
import { authRouter, usersRouter } from './routers/auth.ts';
import { nodesRouter } from './routers/nodes.ts';
import { overviewRouter } from './routers/overview.ts';
import { ssoRouter } from './routers/sso.ts';
import { topicsRouter } from './routers/topics.ts';
import { transactionsRouter } from './routers/transactions.ts';
import { viewsRouter } from './routers/views.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  transactions: transactionsRouter,
  actions: actionsRouter,
  audit: auditRouter,
  nodes: nodesRouter,
  overview: overviewRouter,
  topics: topicsRouter,
  sso: ssoRouter,
  views: viewsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
