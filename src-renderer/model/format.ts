import type { LockInfo } from '../../src-shared/session.ts';

/**
 * How the dashboard writes times, counts and holders. Formatters are built once: an
 * Intl formatter per row at 1,000 rows a second would dominate the frame budget.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `14:02:07.123` in the viewer's time zone: the log's time column. */
export function formatClock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** `14:02` in the viewer's time zone. */
export function formatHourMinute(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const numberFormat = new Intl.NumberFormat('en-US');
export const formatCount = (n: number): string => numberFormat.format(n);

const dayFormat = new Intl.DateTimeFormat('en-US', { weekday: 'short', month: 'short', day: 'numeric' });

/** A calendar entry's start: `14:30` today, `Tomorrow 09:00`, `Thu, Nov 26 10:00`; a bare date reads as a day. */
export function formatWhen(value: string, now: Date): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const date = dateOnly ? new Date(`${value}T00:00:00`) : new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((startOfDay(date) - startOfDay(now)) / 86_400_000);
  const day = days === 0 ? 'Today' : days === 1 ? 'Tomorrow' : days === -1 ? 'Yesterday' : dayFormat.format(date);
  if (dateOnly) return day;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return days === 0 ? time : `${day} ${time}`;
}

/** "CLI pid 4242 since 14:02": who holds the workspace, in the viewer's time zone. */
export function describeLock(lock: LockInfo): string {
  if (!lock.holder) return 'nobody';
  const who = lock.holder === 'cli' ? 'CLI' : 'Server';
  const pid = lock.pid === null ? '' : ` pid ${lock.pid}`;
  const since = lock.since && !Number.isNaN(Date.parse(lock.since)) ? ` since ${formatHourMinute(lock.since)}` : '';
  return `${who}${pid}${since}`;
}

/** Whole seconds until `at`, never negative. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** `3 s`, `2 min 5 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** Relative age for "last sync": `just now`, `5 min ago`, `2 h ago`, else the date. */
export function formatAge(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return dayFormat.format(new Date(at));
}

/** `512 B`, `4.2 KB`, `1.0 MB` (powers of 1024, as file managers count). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
