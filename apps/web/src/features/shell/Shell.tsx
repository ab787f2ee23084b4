'use client';
// The frame of every page: navigation by what an operator does, and who is logged in.
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useSearchParams } from 'next/navigation';
import type { ReactNode } from 'react';
import { useMe } from '@/features/auth/useMe';
import { BASE_PATH, useTRPC } from '@/lib/trpc';

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/transactions', label: 'Transactions' },
  { href: '/transactions?stuck=1', label: 'Stuck' },
  { href: '/audit', label: 'Audit log' },
  { href: '/nodes', label: 'Nodes' },
  { href: '/topics', label: 'Topics' },
];

export function Shell({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const stuckView = useSearchParams().get('stuck') === '1';
  const me = useMe();
  const trpc = useTRPC();
  const logout = useMutation(trpc.auth.logout.mutationOptions({ onSuccess: () => window.location.assign(`${BASE_PATH}/login`) }));
  const user = me.data?.user;
  // non-admins reach the same page for their own password only (UsersPage); SSO users have none
  const nav =
    user?.role === 'admin'
      ? [...NAV, { href: '/users', label: 'Users' }]
      : user && !me.data?.sso
        ? [...NAV, { href: '/users', label: 'My password' }]
        : NAV;
  return (
    <div className="flex min-h-full">
      <aside className="hidden w-52 shrink-0 flex-col bg-slate-900 text-slate-300 md:flex">
        <div className="px-5 py-4">
          <span className="text-lg font-bold text-white">dtx</span> <span className="text-xs text-slate-400 dark:text-slate-500">dashboard</span>
        </div>
        <nav className="flex flex-col gap-0.5 px-2">
          {nav.map((n) => {
            const active =
              n.href === '/'
                ? pathname === '/'
                : n.href.includes('stuck=1')
                  ? pathname === '/transactions' && stuckView
                  : pathname.startsWith(n.href) && !(n.href === '/transactions' && stuckView);
            return (
              <Link
                key={n.href}
                href={n.href}
                className={`rounded-md px-3 py-2 text-sm ${active ? 'bg-slate-800 text-white' : 'hover:bg-slate-800 hover:text-white'}`}
              >
                {n.label}
              </Link>
            );
          })}
        </nav>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center justify-between border-b border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 px-6 py-2.5">
          <nav className="flex gap-3 text-sm md:hidden">
            {nav.map((n) => (
              <Link key={n.href} href={n.href} className="text-slate-600 dark:text-slate-300">
                {n.label}
              </Link>
            ))}
          </nav>
          <div className="hidden text-xs text-slate-500 dark:text-slate-400 md:block">store: {me.data?.settings.store ?? '…'}</div>
          {user && (
            <div className="flex items-center gap-3 text-sm">
              <span data-testid="whoami">
                {user.username}{' '}
                <span className="rounded bg-slate-100 dark:bg-slate-800 px-1.5 py-0.5 text-xs text-slate-600 dark:text-slate-300">{user.role}</span>
              </span>
              <button className="text-slate-500 dark:text-slate-400 hover:text-slate-900 dark:hover:text-white" onClick={() => logout.mutate()}>
                Sign out
              </button>
            </div>
          )}
        </header>
        <main className="min-w-0 flex-1 px-6 py-5">{children}</main>
      </div>
    </div>
  );
}
