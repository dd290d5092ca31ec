import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { DashboardState } from '../model/dashboard-state.ts';
import { type WriteBlockCause, writeBlockedCause, writeBlockedReason } from '../model/dashboard-state.ts';
import type { DashboardController } from '../connection/controller.ts';

export const ControllerContext = createContext<DashboardController | null>(null);

export function useController(): DashboardController {
  const controller = useContext(ControllerContext);
  if (!controller) throw new Error('useController outside <ControllerContext.Provider>');
  return controller;
}

/** A slice of the dashboard state; the selector must return a stable value (a primitive or a stored object). */
export function useDashboard<T>(select: (state: DashboardState) => T): T {
  const { app } = useController();
  return useSyncExternalStore(app.subscribe, () => select(app.state));
}

/** Re-renders on every change of the activity log (at most once per animation frame). */
export function useLogVersion(): number {
  const { log } = useController();
  return useSyncExternalStore(
    (listener) => log.subscribe(listener),
    () => log.version,
  );
}

/** Why writes are disabled right now (the tooltip of every write control), or null. */
export function useWriteBlocked(): string | null {
  return useDashboard(writeBlockedReason);
}

/** The kind of reason writes are disabled (offline, read-only, …), or null. */
export function useWriteBlockedCause(): WriteBlockCause | null {
  return useDashboard(writeBlockedCause);
}

/** The clock, ticking every `intervalMs` (for countdowns, ages and the sparkline). */
export function useNow(intervalMs: number, enabled = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return undefined;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs, enabled]);
  return now;
}

/** Focus targets of the keyboard shortcuts. */
export const FILTER_INPUT_ID = 'filter-input';
export const COMMAND_INPUT_ID = 'command-input';

/** Whether the page is signed in and its stream is live: when lists a view reads are (re)fetched. */
export function useLive(): boolean {
  return useDashboard((s) => s.signedIn && s.connection.state === 'live');
}
