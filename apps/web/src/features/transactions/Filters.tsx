'use client';
// The filter bar: gid (exact or prefix), branch URL prefix, status, type, creation time range, the narrower filters
// behind "More filters" (endpoint, error text, retry count, update and finish time), and the
// Stuck view with its thresholds. Applying it rewrites the URL (and goes back to the first page).
import { useState } from 'react';
import { STATUSES, TRANS_TYPES, type Filter } from '@dtx/api/filters';
import type { StuckThresholds } from '@dtx/api';
import { Button, Field, inputClass } from '@/components/ui';
import { fromLocalInput, toLocalInput } from '@/lib/format';

interface Props {
  filter: Filter;
  defaults: StuckThresholds | undefined;
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
      className="space-y-3 rounded-lg bg-white dark:bg-slate-900 p-4 shadow-sm ring-1 ring-slate-200 dark:ring-slate-700"
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
        <Field label="Branch URL starts with">
          <input
            className={`${inputClass} w-52`}
            placeholder="http://stock-srv:8080/api/"
            aria-label="Branch URL starts with"
            name="branchUrl"
            value={draft.branchUrl ?? ''}
            onChange={(e) => set({ branchUrl: e.target.value || undefined })}
          />
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
      </div>
      <div className="flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
        <fieldset className="flex flex-wrap items-center gap-2">
          <legend className="sr-only">Status</legend>
          <span className="text-xs font-medium text-slate-600 dark:text-slate-300">Status</span>
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
          <span className="text-xs font-medium text-slate-600 dark:text-slate-300">Type</span>
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
        {/* here rather than after the fields above, so that the bar keeps its height at 1366 px */}
        <div className="-my-2 ml-auto flex gap-2">
          <Button kind="primary" type="submit">
            Apply
          </Button>
          <Button kind="ghost" onClick={() => onApply({})}>
            Clear
          </Button>
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-3 border-t border-slate-100 dark:border-slate-800 pt-3 text-sm">
        <label className="inline-flex items-center gap-1.5 font-medium text-amber-800 dark:text-amber-300">
          <input type="checkbox" name="stuck" checked={!!draft.stuck} onChange={(e) => set({ stuck: e.target.checked || undefined })} />
          Stuck only
        </label>
        <span className="text-xs text-slate-500 dark:text-slate-400">unfinished and</span>
        <span className="inline-flex flex-wrap items-center gap-1 text-xs text-slate-600 dark:text-slate-300">
          {THRESHOLDS.map(([key, setting, label, width, before]) => (
            <span key={key} className="inline-flex items-center gap-1">
              {before}
              <NumberInput label={label} width={width} value={draft[key]} placeholder={defaults?.[setting]} onChange={(v) => set({ [key]: v })} />
            </span>
          ))}
          s
        </span>
      </div>
      <details className="border-t border-slate-100 dark:border-slate-800 pt-3 text-sm" open={hasMore(filter)}>
        <summary className="cursor-pointer text-xs font-medium text-slate-600 dark:text-slate-300">More filters</summary>
        <div className="mt-2 flex flex-wrap items-end gap-3">
          <Field label="Failing at endpoint">
            <input
              className={`${inputClass} w-64`}
              placeholder="host:port/path"
              aria-label="Failing at endpoint"
              value={draft.failingAt ?? ''}
              onChange={(e) => set({ failingAt: e.target.value || undefined })}
            />
          </Field>
          <Field label="Error contains">
            <input
              className={`${inputClass} w-56`}
              aria-label="Error contains"
              value={draft.errorText ?? ''}
              onChange={(e) => set({ errorText: e.target.value || undefined })}
            />
          </Field>
          <Field label="Retries from">
            <NumberInput label="Retries from" width="w-20" value={draft.retryMin} onChange={(v) => set({ retryMin: v })} />
          </Field>
          <Field label="Retries to">
            <NumberInput label="Retries to" width="w-20" value={draft.retryMax} onChange={(v) => set({ retryMax: v })} />
          </Field>
          <TimeInput label="Updated from" value={draft.updatedFrom} onChange={(v) => set({ updatedFrom: v })} />
          <TimeInput label="Updated to" value={draft.updatedTo} onChange={(v) => set({ updatedTo: v })} />
          <TimeInput label="Finished from" value={draft.finishedFrom} onChange={(v) => set({ finishedFrom: v })} />
          <TimeInput label="Finished to" value={draft.finishedTo} onChange={(v) => set({ finishedTo: v })} />
        </div>
      </details>
    </form>
  );
}

/** The stuck rule's thresholds: filter key, configured default, input label, width, text before it. */
const THRESHOLDS: [
  'stuckFailingSeconds' | 'stuckFailedCalls' | 'stuckOngoingSeconds' | 'stuckOverdueSeconds' | 'stuckAgeSeconds',
  keyof StuckThresholds,
  string,
  string,
  string,
][] = [
  ['stuckFailingSeconds', 'failingSeconds', 'Failing seconds', 'w-20', 'failing for more than'],
  ['stuckFailedCalls', 'failedCalls', 'Failed calls in a row', 'w-16', 's, or more than'],
  ['stuckOngoingSeconds', 'ongoingSeconds', 'Ongoing seconds', 'w-20', 'failed calls in a row, or ongoing for more than'],
  ['stuckOverdueSeconds', 'overdueSeconds', 'Overdue seconds', 'w-20', 's, or due for more than'],
  ['stuckAgeSeconds', 'ageSeconds', 'Age seconds', 'w-24', 's, or older than'],
];

const hasMore = (f: Filter) =>
  [f.failingAt, f.errorText, f.retryMin, f.retryMax, f.updatedFrom, f.updatedTo, f.finishedFrom, f.finishedTo].some((v) => v !== undefined);

function NumberInput(props: {
  label: string;
  width: string;
  value: number | undefined;
  placeholder?: number;
  onChange: (v: number | undefined) => void;
}) {
  return (
    <input
      type="number"
      min={0}
      aria-label={props.label}
      className={`${inputClass} ${props.width}`}
      placeholder={props.placeholder === undefined ? '' : String(props.placeholder)}
      value={props.value ?? ''}
      onChange={(e) => props.onChange(e.target.value === '' ? undefined : Number(e.target.value))}
    />
  );
}

function TimeInput(props: { label: string; value: number | undefined; onChange: (v: number | undefined) => void }) {
  return (
    <Field label={props.label}>
      <input
        type="datetime-local"
        aria-label={props.label}
        className={inputClass}
        value={toLocalInput(props.value)}
        onChange={(e) => props.onChange(fromLocalInput(e.target.value))}
      />
    </Field>
  );
}
