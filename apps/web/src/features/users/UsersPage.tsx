'use client';
// (admin) Dashboard users: create, change role, disable, reset password, see and end sessions.
// Every change is audited; a new role, disabling and a password reset end the user's sessions.
// Viewers and operators see only their own password form here (the server refuses them the rest).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DataTable } from '@/components/DataTable';
import { Banner, Button, Card, Field, inputClass, PageTitle, Spinner } from '@/components/ui';
import { useCan, useMe } from '@/features/auth/useMe';
import { fmtTime } from '@/lib/format';
import { errorMessage, useTRPC } from '@/lib/trpc';

type Role = 'viewer' | 'operator' | 'admin';

export function UsersPage() {
  const me = useMe();
  const isAdmin = useCan('admin');
  if (me.isLoading) return <Spinner />;
  if (!isAdmin)
    return (
      <div className="space-y-4">
        <PageTitle title="My password" />
        <Banner kind="info">Only admins manage dashboard users (ask one to add a user or change a role).</Banner>
        {me.data?.sso ? <Banner kind="info">You sign in with single sign-on: your password is the provider&apos;s.</Banner> : <ChangePasswordCard />}
      </div>
    );
  return <AdminUsers />;
}

function AdminUsers() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const me = useMe();
  const users = useQuery(trpc.users.list.queryOptions());
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  const create = useMutation(trpc.users.create.mutationOptions({ onSuccess: refresh }));
  const update = useMutation(trpc.users.update.mutationOptions({ onSuccess: refresh }));
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' as Role });
  const [reset, setReset] = useState<{ id: string; password: string } | null>(null);
  const [shown, setShown] = useState<{ id: string; username: string } | null>(null);
  return (
    <div className="space-y-4">
      <PageTitle title="Users" subtitle="viewer: read; operator: read and act; admin: also manage users" />
      {users.error && <Banner>{errorMessage(users.error)}</Banner>}
      {(create.error || update.error) && <Banner>{errorMessage(create.error ?? update.error)}</Banner>}
      <Card title="Add a user">
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(form, { onSuccess: () => setForm({ username: '', password: '', role: 'viewer' }) });
          }}
        >
          <Field label="Username">
            <input
              className={inputClass}
              name="new-username"
              value={form.username}
              onChange={(e) => setForm({ ...form, username: e.target.value })}
              required
            />
          </Field>
          <Field label="Password (8+ characters)">
            <input
              className={inputClass}
              name="new-password"
              type="password"
              value={form.password}
              onChange={(e) => setForm({ ...form, password: e.target.value })}
              required
            />
          </Field>
          <Field label="Role">
            <select className={inputClass} name="new-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
              <option value="viewer">viewer</option>
              <option value="operator">operator</option>
              <option value="admin">admin</option>
            </select>
          </Field>
          <Button kind="primary" type="submit" disabled={create.isPending}>
            Add user
          </Button>
        </form>
      </Card>
      <Card title="Users">
        <DataTable
          testId="users-table"
          headClassName="text-left text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400"
          bodyClassName="divide-y divide-slate-100 dark:divide-slate-800"
          rows={users.data ?? []}
          rowKey={(u) => u.id}
          columns={[
            {
              header: 'Username',
              headerClassName: 'py-1',
              className: 'py-2',
              cell: (u) => (
                <>
                  {u.username}
                  {u.sso && (
                    <span
                      className="ml-2 rounded bg-slate-100 dark:bg-slate-800 px-1.5 py-0.5 text-xs text-slate-600 dark:text-slate-300"
                      title="Signs in with single sign-on; the role comes from the provider at each sign-in"
                    >
                      SSO
                    </span>
                  )}
                </>
              ),
            },
            {
              header: 'Role',
              headerClassName: 'py-1',
              className: 'py-2',
              cell: (u) => (
                <select
                  aria-label={`Role of ${u.username}`}
                  className={inputClass}
                  value={u.role}
                  disabled={u.username === me.data?.user?.username}
                  onChange={(e) => update.mutate({ id: u.id, role: e.target.value as Role })}
                >
                  <option value="viewer">viewer</option>
                  <option value="operator">operator</option>
                  <option value="admin">admin</option>
                </select>
              ),
            },
            { header: 'Created', headerClassName: 'py-1', className: 'py-2 text-slate-600 dark:text-slate-300', cell: (u) => fmtTime(u.createdAt) },
            {
              header: 'Actions',
              headerClassName: 'py-1',
              className: 'flex flex-wrap items-center gap-2 py-2',
              cell: (u) => (
                <>
                  <Button
                    size="sm"
                    disabled={u.username === me.data?.user?.username}
                    onClick={() => update.mutate({ id: u.id, disabled: !u.disabled })}
                  >
                    {u.disabled ? 'Enable' : 'Disable'}
                  </Button>
                  <Button size="sm" onClick={() => setShown(shown?.id === u.id ? null : { id: u.id, username: u.username })}>
                    Sessions
                  </Button>
                  {reset?.id === u.id ? (
                    <form
                      className="flex gap-1"
                      onSubmit={(e) => {
                        e.preventDefault();
                        update.mutate({ id: u.id, password: reset.password }, { onSuccess: () => setReset(null) });
                      }}
                    >
                      <input
                        className={`${inputClass} w-44`}
                        type="password"
                        aria-label={`New password for ${u.username}`}
                        placeholder="new password"
                        value={reset.password}
                        onChange={(e) => setReset({ id: u.id, password: e.target.value })}
                        autoFocus
                      />
                      <Button size="sm" kind="primary" type="submit">
                        Set
                      </Button>
                      <Button size="sm" kind="ghost" onClick={() => setReset(null)}>
                        Cancel
                      </Button>
                    </form>
                  ) : u.sso ? null : (
                    <Button size="sm" onClick={() => setReset({ id: u.id, password: '' })}>
                      Reset password
                    </Button>
                  )}
                </>
              ),
            },
          ]}
        />
      </Card>
      {shown && <SessionsCard user={shown} />}
      {!me.data?.sso && <ChangePasswordCard />}
    </div>
  );
}

function ChangePasswordCard() {
  const trpc = useTRPC();
  const [pw, setPw] = useState({ current: '', next: '' });
  const change = useMutation(trpc.auth.changePassword.mutationOptions());
  return (
    <Card title="Change my password">
      <form
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate(pw, { onSuccess: () => setPw({ current: '', next: '' }) });
        }}
      >
        <Field label="Current password">
          <input className={inputClass} type="password" value={pw.current} onChange={(e) => setPw({ ...pw, current: e.target.value })} required />
        </Field>
        <Field label="New password">
          <input className={inputClass} type="password" value={pw.next} onChange={(e) => setPw({ ...pw, next: e.target.value })} required />
        </Field>
        <Button type="submit">Change</Button>
      </form>
      {change.error && <Banner>{errorMessage(change.error)}</Banner>}
      {change.isSuccess && <Banner kind="success">Password changed.</Banner>}
    </Card>
  );
}

/** One user's live sessions, with a button to end each (or all) of them. */
function SessionsCard({ user }: { user: { id: string; username: string } }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const sessions = useQuery(trpc.users.sessions.queryOptions({ id: user.id }));
  const end = useMutation(
    trpc.users.endSessions.mutationOptions({ onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.users.sessions.queryKey() }) }),
  );
  return (
    <Card title={`Sessions of ${user.username}`}>
      {(sessions.error || end.error) && <Banner>{errorMessage(sessions.error ?? end.error)}</Banner>}
      <DataTable
        testId="sessions-table"
        headClassName="text-left text-xs uppercase tracking-wide text-slate-500 dark:text-slate-400"
        bodyClassName="divide-y divide-slate-100 dark:divide-slate-800"
        rows={sessions.data ?? []}
        rowKey={(s) => s.id}
        empty="No live sessions."
        columns={[
          { header: 'Logged in', headerClassName: 'py-1', className: 'py-2', cell: (s) => fmtTime(s.createdAt) },
          { header: 'Last used', headerClassName: 'py-1', className: 'py-2', cell: (s) => fmtTime(s.lastSeenAt) },
          { header: 'Ends at the latest', headerClassName: 'py-1', className: 'py-2', cell: (s) => fmtTime(s.expiresAt) },
          { header: 'From', headerClassName: 'py-1', className: 'py-2 font-mono text-xs', cell: (s) => s.remoteAddr },
          {
            header: 'Browser',
            headerClassName: 'py-1',
            className: 'max-w-xs truncate py-2 text-xs text-slate-600 dark:text-slate-300',
            cell: (s) => s.userAgent,
          },
          {
            header: '',
            headerClassName: 'py-1',
            className: 'py-2',
            cell: (s) =>
              s.current ? (
                <span className="text-xs text-slate-500 dark:text-slate-400">this session</span>
              ) : (
                <Button size="sm" kind="danger" onClick={() => end.mutate({ sessionId: s.id })}>
                  End
                </Button>
              ),
          },
        ]}
      />
      {(sessions.data?.length ?? 0) > 0 && (
        <div className="mt-3">
          <Button size="sm" onClick={() => end.mutate({ userId: user.id })}>
            End all sessions of {user.username}
          </Button>
        </div>
      )}
    </Card>
  );
}
