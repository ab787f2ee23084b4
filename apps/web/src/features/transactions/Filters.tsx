'use client';
// The filter bar: gid (exact or prefix), status, type, creation time range, and the Stuck view
// with its thresholds. Applying it rewrites the URL (and goes back to the first page).
import { useState } from 'react';
import { STATUSES, TRANS_TYPES, type Filter } from '@dtx/api/filters';
import { Button, Field, inputClass } from '@/components/ui';
import { fromLocalInput, toLocalInput } from '@/lib/format';

interface Props {
  filter: Filter;
  defaults: { overdueSeconds: number; retryCount: number; ageSeconds: number } | undefined;
  onApply: (f: Filter) => void;
}

function toggle<T>(list: T[] | undefined, v: T): T[] | undefined {
  const s = new Set(list ?? []);
  if (s.has(v)) s.delete(v);
  else s.add(v);
  return s.size ? [...s] : undefined;
}

export function Filters({ filter, defaults, onApply }: Props) {
  const [draft, setDraft] = useState<Filter>(filter);
  // A new filter from the URL replaces the draft, during render rather than in an effect (React's
  // "adjusting state when a prop changes": no render with the stale draft).
  const [shown, setShown] = useState<Filter>(filter);
  if (shown !== filter) {
    setShown(filter);
    setDraft(filter);
  }
  const set = (patch: Partial<Filter>) => setDraft((d) => ({ ...d, ...patch }));
  return (
    <form
      className="space-y-3 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
      aria-label="Filters"
    >
      <div className="flex flex-wrap items-end gap-3">
        <Field label="GID">
          <div className="flex">
            <input
              className={`${inputClass} w-64 rounded-r-none`}
              placeholder="gid or its beginning"
              name="gid"
              value={draft.gid ?? ''}
              onChange={(e) => set({ gid: e.target.value || undefined })}
            />
            <select
              aria-label="GID match"
              className={`${inputClass} rounded-l-none`}
              value={draft.gidMode ?? 'exact'}
              onChange={(e) => set({ gidMode: e.target.value === 'prefix' ? 'prefix' : undefined })}
            >
              <option value="exact">exact</option>
              <option value="prefix">prefix</option>
            </select>
          </div>
        </Field>
        <Field label="Created from">
          <input
            type="datetime-local"
            aria-label="Created from"
            className={inputClass}
            value={toLocalInput(draft.createdFrom)}
            onChange={(e) => set({ createdFrom: fromLocalInput(e.target.value) })}
          />
        </Field>
        <Field label="Created to">
          <input
            type="datetime-local"
            aria-label="Created to"
            className={inputClass}
            value={toLocalInput(draft.createdTo)}
            onChange={(e) => set({ createdTo: fromLocalInput(e.target.value) })}
          />
        </Field>
        <div className="flex gap-2">
          <Button kind="primary" type="submit">
            Apply
          </Button>
          <Button kind="ghost" onClick={() => onApply({})}>
            Clear
          </Button>
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
        <fieldset className="flex flex-wrap items-center gap-2">
          <legend className="sr-only">Status</legend>
          <span className="text-xs font-medium text-slate-600">Status</span>
          {STATUSES.map((s) => (
            <label key={s} className="inline-flex items-center gap-1">
              <input
                type="checkbox"
                name={`status-${s}`}
                checked={draft.status?.includes(s) ?? false}
                onChange={() => set({ status: toggle(draft.status, s) })}
              />
              {s}
            </label>
          ))}
        </fieldset>
        <fieldset className="flex flex-wrap items-center gap-2">
          <legend className="sr-only">Type</legend>
          <span className="text-xs font-medium text-slate-600">Type</span>
          {TRANS_TYPES.map((t) => (
            <label key={t} className="inline-flex items-center gap-1">
              <input
                type="checkbox"
                name={`type-${t}`}
                checked={draft.transType?.includes(t) ?? false}
                onChange={() => set({ transType: toggle(draft.transType, t) })}
              />
              {t}
            </label>
          ))}
        </fieldset>
      </div>
      <div className="flex flex-wrap items-center gap-3 border-t border-slate-100 pt-3 text-sm">
        <label className="inline-flex items-center gap-1.5 font-medium text-amber-800">
          <input type="checkbox" name="stuck" checked={!!draft.stuck} onChange={(e) => set({ stuck: e.target.checked || undefined })} />
          Stuck only
        </label>
        <span className="text-xs text-slate-500">unfinished and</span>
        <label className="inline-flex items-center gap-1 text-xs text-slate-600">
          due for more than
          <input
            type="number"
            min={0}
            aria-label="Overdue seconds"
            className={`${inputClass} w-20`}
            placeholder={String(defaults?.overdueSeconds ?? '')}
            value={draft.stuckOverdueSeconds ?? ''}
            onChange={(e) => set({ stuckOverdueSeconds: e.target.value === '' ? undefined : Number(e.target.value) })}
          />
          s, or retried more than
          <input
            type="number"
            min={0}
            aria-label="Retry count"
            className={`${inputClass} w-16`}
            placeholder={String(defaults?.retryCount ?? '')}
            value={draft.stuckRetryCount ?? ''}
            onChange={(e) => set({ stuckRetryCount: e.target.value === '' ? undefined : Number(e.target.value) })}
          />
          times, or older than
          <input
            type="number"
            min={0}
            aria-label="Age seconds"
            className={`${inputClass} w-24`}
            placeholder={String(defaults?.ageSeconds ?? '')}
            value={draft.stuckAgeSeconds ?? ''}
            onChange={(e) => set({ stuckAgeSeconds: e.target.value === '' ? undefined : Number(e.target.value) })}
          />
          s
        </label>
      </div>
    </form>
  );
}
