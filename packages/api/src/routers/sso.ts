// What the login page shows about single sign-on (docs/security.md, "Single sign-on"): nothing
// when it is not configured, else the provider's name and whether it can be reached right now.
import { publicProcedure, router } from '../trpc.ts';

export const ssoRouter = router({
  status: publicProcedure.query(async ({ ctx }) => {
    const oidc = ctx.deps.oidc;
    if (!oidc) return null;
    const { name, roleClaim } = oidc.settings;
    return { name, roleClaim, available: !!(await oidc.provider()) };
  }),
});
