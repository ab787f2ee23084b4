'use client';
// Who is logged in, with which role, and the dashboard settings the UI needs.
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';

export function useMe() {
  const trpc = useTRPC();
  return useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: 30_000 }));
}

const rank = { viewer: 0, operator: 1, admin: 2 } as const;

/** The logged-in user has at least this role (the server checks again on every call). */
export function useCan(role: keyof typeof rank): boolean {
  const me = useMe().data?.user;
  return !!me && rank[me.role] >= rank[role];
}
