'use client';
import { useMutation } from '@tanstack/react-query';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { Banner, Button, Field, inputClass } from '@/components/ui';
import { safeNextPath } from '@dtx/api/next-path';
import { BASE_PATH, errorMessage, useTRPC } from '@/lib/trpc';
import { SsoSignIn } from './SsoSignIn';

export function LoginForm() {
  const trpc = useTRPC();
  const params = useSearchParams();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: () => {
        // only paths inside the dashboard (no //host, /\host, control characters or schemes)
        window.location.assign(`${BASE_PATH}${safeNextPath(params.get('next'))}`);
      },
    }),
  );
  return (
    <div className="flex min-h-full items-center justify-center px-4 py-16">
      <form
        className="w-full max-w-sm space-y-4 rounded-xl bg-white dark:bg-slate-900 p-8 shadow-sm ring-1 ring-slate-200 dark:ring-slate-700"
        onSubmit={(e) => {
          e.preventDefault();
          login.mutate({ username, password });
        }}
      >
        <div>
          <div className="text-2xl font-bold tracking-tight text-indigo-600 dark:text-indigo-400">dtx</div>
          <h1 className="mt-1 text-lg font-semibold">Sign in to the dashboard</h1>
        </div>
        {login.error && <Banner>{errorMessage(login.error)}</Banner>}
        <Field label="Username">
          <input
            className={inputClass}
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            autoFocus
          />
        </Field>
        <Field label="Password">
          <input
            className={inputClass}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </Field>
        <Button kind="primary" type="submit" className="w-full justify-center" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </Button>
        <SsoSignIn next={params.get('next')} />
        <p className="text-xs text-slate-500 dark:text-slate-400">
          First start? The password of the <code>admin</code> user was printed once in the server log.
        </p>
      </form>
    </div>
  );
}
