'use client';
// The tRPC client (through React Query): the only way the dashboard reads or changes server state.
// Every request carries the CSRF header the server demands for mutations; an expired session
// sends the user back to the login page.
import { QueryCache, QueryClient, QueryClientProvider, MutationCache } from '@tanstack/react-query';
import { createTRPCClient, httpLink, isTRPCClientError } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { useState, type ReactNode } from 'react';
import type { AppRouter } from '@dtx/api';

export const BASE_PATH = process.env.NEXT_PUBLIC_BASE_PATH ?? '';
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** The tRPC error code of a failed call (typed by the router, unlike `instanceof TRPCClientError`). */
function trpcCode(err: unknown): string | undefined {
  return isTRPCClientError<AppRouter>(err) ? err.data?.code : undefined;
}

function onAuthError(err: unknown): void {
  if (trpcCode(err) === 'UNAUTHORIZED' && !window.location.pathname.endsWith('/login')) {
    const here = window.location.pathname.slice(BASE_PATH.length) + window.location.search;
    window.location.href = `${BASE_PATH}/login?next=${encodeURIComponent(here)}`;
  }
}

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        queryCache: new QueryCache({ onError: onAuthError }),
        mutationCache: new MutationCache({ onError: onAuthError }),
        defaultOptions: {
          queries: {
            staleTime: 1000,
            retry: (n, err) => !['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST'].includes(trpcCode(err) ?? '') && n < 2,
          },
        },
      }),
  );
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      // Not batched: the list must not wait for the slower counts (a second on MySQL at 1M rows).
      links: [httpLink({ url: `${BASE_PATH}/api/trpc`, headers: { 'x-dtx-csrf': '1' } })],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

// A tRPC error's message is the server's, written as sentences (for invalid input:
// "Password must be at least 8 characters.", packages/api/src/errors.ts).
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
