// @dtx/api: the dashboard's tRPC router over @dtx/engine and @dtx/db, its authentication, and the
// HTTP API for scripts. apps/web serves it; nothing else talks to the database for the dashboard.
export { appRouter, createCaller, type AppRouter } from './router.ts';
export {
  createContext,
  userFromCookie,
  sessionFromCookie,
  clientOf,
  hasRole,
  ROLES,
  type Context,
  type Role,
  type SessionUser,
  type RequestInfo,
} from './trpc.ts';
export { createDashboard, ensureAdminUser, settingsOf, type ApiDeps, type Dashboard, type DashboardSettings, type StuckThresholds } from './deps.ts';
export { filterSchema, viewSchema, STATUSES, UNFINISHED, TRANS_TYPES, SORT_KEYS, type Filter, type SortKey, type View } from './filters.ts';
export { parseViewQuery, paramsFromView, viewFromParams } from './list-query.ts';
export {
  CSRF_HEADER,
  SESSION_COOKIE,
  createSession,
  endSession,
  endUserSessions,
  listSessions,
  sessionCookie,
  type ClientInfo,
  type NewSession,
  type Session,
} from './auth/session.ts';
export { hashPassword, verifyPassword, randomPassword, hashesEvaluated, setHashConcurrency } from './auth/password.ts';
export { authenticate, ThrottledError } from './routers/auth.ts';
export { describeZodError, isDevelopment } from './errors.ts';
export { safeNextPath } from './next-path.ts';
export { handleOidc, issueSessionFor, safeNext, type OidcRequest, type SsoRefusal } from './auth/oidc-routes.ts';
export { upsertSsoUser, roleFromClaims, usernameFrom, SSO_PASSWORD_HASH, type SsoIdentity, type SsoUserResult } from './auth/oidc.ts';
export { handleRest, type RestRequest, type RestResponse } from './rest.ts';
export type { ListItem, TransactionDetail } from './routers/transactions.ts';
export type { SavedView } from './routers/views.ts';
