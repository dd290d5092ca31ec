import { type Principal, type Role, roleAllows } from '../../src-shared/access.ts';
import type { EventEnvelope } from '../../src-shared/events.ts';
import type { LiveState, LiveStatus } from '../../src-shared/live-client.ts';
import { SessionState } from '../../src-shared/session.ts';
import {
  SECTION_SCHEMAS,
  type StateDocument,
  StateDocument as StateDocumentSchema,
  StateSection,
  SystemState,
} from '../../src-shared/state.ts';

/**
 * Everything the dashboard shows besides the log: the link, who may write, and the
 * state document. A pure reducer, so the subtle part is testable: a snapshot (or a
 * fetched session) already reflects every event up to some sequence number, and a
 * replayed older event must never roll it back.
 */

export interface ConnectionView {
  state: LiveState;
  retryAt: number | null;
  attempt: number;
  lastError: string | null;
}

export interface ServerView {
  version: string;
  workspace: string;
}

export interface DashboardState {
  connection: ConnectionView;
  /** False once the sign-in ended (a refresh was refused) or never happened. */
  signedIn: boolean;
  /** Who is signed in (null until known). */
  user: Principal | null;
  /** Why the page is signed out, for the sign-in form. */
  signedOutReason: string | null;
  session: SessionState | null;
  /** Lock events at or below this number are already reflected in `session`. */
  sessionAt: number;
  state: StateDocument | null;
  /** State events at or below this number are already reflected in `state`. */
  stateAt: number;
  /** A section changed without its new value: the state must be fetched again. */
  stateStale: boolean;
  server: ServerView | null;
  /** What is typed in the filter box (applied to the log after a short pause in typing). */
  filterText: string;
}

export type DashboardAction =
  | { type: 'connection'; status: LiveStatus }
  | { type: 'signed-out'; reason?: string | null }
  | { type: 'signed-in'; user: Principal | null }
  | { type: 'state'; state: unknown; at: number }
  | { type: 'session'; session: unknown; at: number }
  | { type: 'events'; events: readonly EventEnvelope[] }
  | { type: 'server'; server: ServerView }
  | { type: 'filter-text'; text: string };

export const initialDashboardState: DashboardState = {
  connection: { state: 'connecting', retryAt: null, attempt: 0, lastError: null },
  signedIn: true,
  user: null,
  signedOutReason: null,
  session: null,
  sessionAt: -1,
  state: null,
  stateAt: -1,
  stateStale: false,
  server: null,
  filterText: '',
};

/** The types that change what the header and side panels show. */
export const STATE_EVENT_TYPES = ['system.status_changed', 'system.state_changed', 'session.lock_changed'] as const;

function applyEvent(s: DashboardState, event: EventEnvelope): DashboardState {
  const seq = event.sequence_number;
  switch (event.type) {
    case 'session.lock_changed': {
      if (seq <= s.sessionAt) return s;
      const session = SessionState.safeParse(event.data);
      return session.success ? { ...s, session: session.data, sessionAt: seq } : s;
    }
    case 'system.status_changed': {
      if (seq <= s.stateAt || s.state === null) return s;
      const system = SystemState.safeParse(event.data);
      return system.success ? { ...s, state: { ...s.state, system: system.data }, stateAt: seq } : s;
    }
    case 'system.state_changed': {
      if (seq <= s.stateAt || s.state === null) return s;
      const section = StateSection.safeParse(event.data.section);
      if (!section.success) return s;
      // Use the new value when the event carries it; otherwise fetch the document.
      const carried = 'value' in event.data ? event.data.value : event.data[section.data];
      const value = carried === undefined ? undefined : SECTION_SCHEMAS[section.data].safeParse(carried);
      if (value?.success) return { ...s, state: { ...s.state, [section.data]: value.data }, stateAt: seq };
      return { ...s, stateStale: true };
    }
    default:
      return s;
  }
}

export function dashboardReducer(s: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'connection': {
      const { state, retryAt, attempt, lastError } = action.status;
      return { ...s, connection: { state, retryAt, attempt, lastError } };
    }
    case 'signed-out':
      return { ...s, signedIn: false, user: null, signedOutReason: action.reason ?? null };
    case 'signed-in':
      return { ...s, signedIn: true, user: action.user, signedOutReason: null };
    case 'state': {
      // An older document than the one shown (a slow fetch overtaken by events) is ignored.
      if (action.at < s.stateAt) return s;
      const parsed = StateDocumentSchema.safeParse(action.state);
      if (!parsed.success) return s;
      return { ...s, state: parsed.data, stateAt: action.at, stateStale: false };
    }
    case 'session': {
      if (action.at < s.sessionAt) return s;
      const parsed = SessionState.safeParse(action.session);
      return parsed.success ? { ...s, session: parsed.data, sessionAt: action.at } : s;
    }
    case 'events': {
      let next = s;
      for (const event of action.events) next = applyEvent(next, event);
      return next;
    }
    case 'server':
      return { ...s, server: action.server };
    case 'filter-text':
      return s.filterText === action.text ? s : { ...s, filterText: action.text };
  }
}

/** Why this user's role may not do something that needs `need`, or null when it may. */
export function roleBlockedReason(user: Principal | null, need: Role): string | null {
  if (user === null || roleAllows(user.role, need)) return null;
  return `Your role (${user.role}) may not do this: it needs ${need}. Ask an admin.`;
}

/** Why writes are refused right now, as a kind (for short texts like a placeholder). */
export type WriteBlockCause = 'signed-out' | 'role' | 'offline' | 'waiting' | 'read-only';

export function writeBlockedCause(s: DashboardState): WriteBlockCause | null {
  if (!s.signedIn) return 'signed-out';
  if (roleBlockedReason(s.user, 'operator')) return 'role';
  if (s.connection.state === 'reconnecting' || s.connection.state === 'offline' || s.connection.state === 'stopped')
    return 'offline';
  if (s.session === null) return 'waiting';
  if (s.session.read_only) return 'read-only';
  return null;
}

/** Why writes are refused right now (the tooltip of every write control), or null when they are allowed. */
export function writeBlockedReason(s: DashboardState): string | null {
  switch (writeBlockedCause(s)) {
    case null:
      return null;
    case 'signed-out':
      return 'Signed out: sign in again to make changes';
    case 'role':
      return roleBlockedReason(s.user, 'operator');
    case 'offline':
      return 'Not connected to the server: changes resume when the connection is back';
    case 'waiting':
      return 'Waiting for the server…';
    case 'read-only': {
      const lock = s.session!.lock;
      if (!lock.holder) return 'Read-only: the workspace lock is being handed over';
      return `Read-only: the workspace is held by ${lock.holder === 'cli' ? 'the CLI' : 'another server'}${lock.pid === null ? '' : ` (pid ${lock.pid})`}; changes resume when it is released`;
    }
  }
}

/**
 * Whether the lock state the page holds is still the server's: only while connected and
 * signed in. Otherwise it is the last one known, and the badge must not vouch for it.
 */
export function lockStateCurrent(s: DashboardState): boolean {
  const cause = writeBlockedCause(s);
  return cause !== 'signed-out' && cause !== 'offline' && s.session !== null;
}

/** A minimal external store for React's useSyncExternalStore. */
export class Store<S, A> {
  #state: S;
  #reduce: (state: S, action: A) => S;
  #listeners = new Set<() => void>();

  constructor(reduce: (state: S, action: A) => S, initial: S) {
    this.#reduce = reduce;
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  readonly getState = (): S => this.#state;

  readonly dispatch = (action: A): void => {
    const next = this.#reduce(this.#state, action);
    if (next === this.#state) return;
    this.#state = next;
    for (const listener of this.#listeners) listener();
  };

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };
}
