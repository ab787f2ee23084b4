'use client';
// Saved views of the list (docs/operations.md, "Sorting and saved views"): the user's named
// filter + sort orders. Choosing one goes to its query string; "Save view" stores the current
// one under a name (the same name replaces it); the chosen one can be deleted.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Button, inputClass } from '@/components/ui';
import { errorMessage, useTRPC } from '@/lib/trpc';

interface Props {
  /** the current view's query string (no page cursor) */
  query: string;
  /** go to a view's query string */
  onOpen: (query: string) => void;
}

export function Views({ query, onOpen }: Props) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const views = useQuery(trpc.views.list.queryOptions());
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.views.list.queryKey() });
  const [naming, setNaming] = useState<string | null>(null);
  const save = useMutation(
    trpc.views.save.mutationOptions({
      onSuccess: () => {
        setNaming(null);
        refresh();
      },
    }),
  );
  const remove = useMutation(trpc.views.delete.mutationOptions({ onSuccess: refresh }));
  const current = views.data?.find((v) => v.query === query);
  const error = save.error ?? remove.error ?? views.error;
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" aria-label="Saved views">
      <label className="inline-flex items-center gap-1.5 text-xs font-medium text-slate-600 dark:text-slate-300">
        Views
        <select
          aria-label="Views"
          className={`${inputClass} w-56`}
          value={current?.id ?? ''}
          onChange={(e) => {
            const v = views.data?.find((x) => x.id === e.target.value);
            if (v) onOpen(v.query);
          }}
        >
          <option value="">{views.data?.length ? (current ? '' : 'choose a saved view…') : 'no saved views'}</option>
          {views.data?.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
            </option>
          ))}
        </select>
      </label>
      {current && (
        <Button size="sm" kind="ghost" disabled={remove.isPending} onClick={() => remove.mutate({ id: current.id })}>
          Delete view “{current.name}”
        </Button>
      )}
      {naming === null ? (
        <Button
          size="sm"
          onClick={() => {
            save.reset();
            setNaming(current?.name ?? '');
          }}
        >
          Save view…
        </Button>
      ) : (
        <form
          className="inline-flex items-center gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({ name: naming, query });
          }}
        >
          <input
            autoFocus
            aria-label="View name"
            placeholder="name of this view"
            maxLength={200}
            className={`${inputClass} w-56`}
            value={naming}
            onChange={(e) => setNaming(e.target.value)}
          />
          <Button size="sm" kind="primary" type="submit" disabled={save.isPending}>
            Save
          </Button>
          <Button size="sm" kind="ghost" onClick={() => setNaming(null)}>
            Cancel
          </Button>
        </form>
      )}
      {error && (
        <span role="alert" className="text-xs text-rose-700 dark:text-rose-300">
          {errorMessage(error)}
        </span>
      )}
    </div>
  );
}
