'use client';
// How times are shown: in UTC, in the browser's zone, or relative to now; the choice is kept in
// the browser (localStorage) and shared by every page and tab.
import { useSyncExternalStore } from 'react';
import { fmtRelative, fmtTime } from './format';

export type TimeMode = 'utc' | 'local' | 'relative';
const KEY = 'dtx.timeMode';
const MODES: TimeMode[] = ['local', 'utc', 'relative'];
const listeners = new Set<() => void>();

function read(): TimeMode {
  const v = typeof window === 'undefined' ? null : window.localStorage.getItem(KEY);
  return MODES.includes(v as TimeMode) ? (v as TimeMode) : 'local';
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  window.addEventListener('storage', fn);
  return () => {
    listeners.delete(fn);
    window.removeEventListener('storage', fn);
  };
}

export function setTimeMode(m: TimeMode): void {
  window.localStorage.setItem(KEY, m);
  for (const fn of listeners) fn();
}

export function useTimeMode(): TimeMode {
  return useSyncExternalStore(subscribe, read, () => 'local');
}

/** The zone times are shown in: "UTC", or the browser's zone with its offset ("Europe/Berlin, UTC+01:00"). */
export function zoneLabel(mode: TimeMode): string {
  if (mode === 'utc') return 'UTC';
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const off = -new Date().getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const offset = `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return mode === 'relative' ? 'relative to now' : `${zone}, ${offset}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function fmtUtc(ms: number | null | undefined, withMs = false): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withMs ? `${s}.${pad(d.getUTCMilliseconds(), 3)}` : s;
}

/** A time in the chosen mode (the tooltip text: timeTitle). */
export function fmtAt(ms: number | null | undefined, mode: TimeMode, withMs = false): string {
  if (mode === 'utc') return fmtUtc(ms, withMs);
  if (mode === 'relative') return fmtRelative(ms);
  return fmtTime(ms, withMs);
}

/** The full time with its zone, for a tooltip. */
export function timeTitle(ms: number | null | undefined): string | undefined {
  if (ms === null || ms === undefined) return undefined;
  return `${fmtTime(ms, true)} (${zoneLabel('local')}) = ${fmtUtc(ms, true)} UTC`;
}

export function TimeModeSwitch() {
  const mode = useTimeMode();
  return (
    <label className="inline-flex items-center gap-1 text-xs text-slate-500 dark:text-slate-400">
      Times
      <select
        aria-label="Time display"
        className="rounded border-slate-300 dark:border-slate-600 py-0.5 text-xs"
        value={mode}
        onChange={(e) => setTimeMode(e.target.value as TimeMode)}
      >
        <option value="local" suppressHydrationWarning>
          local ({zoneLabel('local')})
        </option>
        <option value="utc">UTC</option>
        <option value="relative">relative</option>
      </select>
    </label>
  );
}
