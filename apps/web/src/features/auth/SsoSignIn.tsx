'use client';
// The login page's single sign-on part (docs/security.md, "Single sign-on"): "Sign in with <name>"
// when a provider is configured and reachable, a notice when it is not, and the reason when an SSO
// login came back refused (`?sso=` from packages/api/src/auth/oidc-routes.ts).
import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'next/navigation';
import type { SsoRefusal } from '@dtx/api';
import { Banner } from '@/components/ui';
import { BASE_PATH, useTRPC } from '@/lib/trpc';

function refusalText(why: string, name: string, claim: string): string | null {
  const texts: Record<SsoRefusal, string> = {
    unavailable: `Sign-in with ${name} is unavailable right now: the identity provider cannot be reached.`,
    expired: `The sign-in with ${name} took too long or was started in another tab. Please try again.`,
    failed: `The sign-in with ${name} failed: its answer could not be verified. Please try again.`,
    'no-role': `Your ${name} account has no dashboard role: its "${claim}" claim holds none of the values mapped to viewer, operator or admin. Ask an administrator.`,
    disabled: 'Your dashboard user is disabled. Ask an administrator.',
    'name-taken': `A dashboard user with your ${name} name already exists and is not linked to your ${name} account. Ask an administrator.`,
  };
  return texts[why as SsoRefusal] ?? null;
}

export function SsoSignIn({ next }: { next: string | null }) {
  const trpc = useTRPC();
  const params = useSearchParams();
  const status = useQuery(trpc.sso.status.queryOptions(undefined, { staleTime: 10_000 }));
  const sso = status.data;
  if (!sso) return null;
  const refused = refusalText(params.get('sso') ?? '', sso.name, sso.roleClaim);
  const href = `${BASE_PATH}/api/auth/oidc/login${next ? `?next=${encodeURIComponent(next)}` : ''}`;
  return (
    <div className="space-y-3 border-t border-slate-200 dark:border-slate-700 pt-4">
      {refused && <Banner>{refused}</Banner>}
      {sso.available ? (
        <a
          href={href}
          className="inline-flex w-full items-center justify-center rounded-md bg-white dark:bg-slate-900 px-3.5 py-2 text-sm font-medium text-slate-700 dark:text-slate-200 shadow-sm ring-1 ring-slate-300 dark:ring-slate-600 hover:bg-slate-50 dark:hover:bg-slate-800"
        >
          Sign in with {sso.name}
        </a>
      ) : (
        <Banner kind="warning">
          Single sign-on ({sso.name}) is unavailable: the identity provider cannot be reached. Local users can still sign in above.
        </Banner>
      )}
    </div>
  );
}
