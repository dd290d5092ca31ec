import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../../../src-shared/events.ts';
import { initialState, type StateDocument } from '../../../../src-shared/state.ts';
import {
  dashboardReducer,
  type DashboardState,
  initialDashboardState,
  lockStateCurrent,
  Store,
  writeBlockedCause,
  writeBlockedReason,
} from '../../../../src-renderer/model/dashboard-state.ts';

const ev = (seq: number, type: string, data: Record<string, unknown>): EventEnvelope => ({
  type,
  sequence_number: seq,
  timestamp: '2026-11-23T17:00:00.000Z',
  data,
  metadata: {},
});
const lock = (holder: 'server' | 'cli' | null, pid: number | null = 1) => ({
  holder,
  pid: holder ? pid : null,
  hostname: 'box',
  since: holder ? '2026-11-23T14:02:00.000Z' : null,
  id: holder ? `id-${holder}` : null,
});
const doc = (patch: Partial<StateDocument> = {}): StateDocument => ({ ...initialState(), ...patch });

function reduce(...actions: Parameters<typeof dashboardReducer>[1][]): DashboardState {
  return actions.reduce(dashboardReducer, initialDashboardState);
}

describe('the state document', () => {
  it('takes the snapshot, then newer status events', () => {
    const s = reduce(
      { type: 'state', state: doc(), at: 10 },
      {
        type: 'events',
        events: [ev(11, 'system.status_changed', { status: 'COLLECTING', progress: 42, last_sync: null })],
      },
    );
    expect(s.state?.system).toEqual({ status: 'COLLECTING', progress: 42, last_sync: null });
    expect(s.stateAt).toBe(11);
  });

  it('never rolls a snapshot back with a replayed older event', () => {
    const s = reduce(
      {
        type: 'state',
        state: doc({ system: { status: 'IDLE', progress: 100, last_sync: '2026-11-23T17:00:00Z' } }),
        at: 50,
      },
      {
        type: 'events',
        events: [ev(40, 'system.status_changed', { status: 'COLLECTING', progress: 10, last_sync: null })],
      },
    );
    expect(s.state?.system.status).toBe('IDLE');
  });

  it('ignores a fetched document older than what is shown, and a malformed one', () => {
    const s1 = reduce(
      { type: 'state', state: doc(), at: 20 },
      {
        type: 'state',
        state: doc({ active_brief: { target: 'P1', summary: 's', created_at: '2026-11-23T17:00:00Z' } }),
        at: 15,
      },
    );
    expect(s1.state?.active_brief).toBeNull();
    const s2 = reduce({ type: 'state', state: { nonsense: true }, at: 5 });
    expect(s2.state).toBeNull();
  });

  it('marks the document stale when a section changes without its value, and clears that on the next fetch', () => {
    const s1 = reduce(
      { type: 'state', state: doc(), at: 1 },
      { type: 'events', events: [ev(2, 'system.state_changed', { section: 'priorities' })] },
    );
    expect(s1.stateStale).toBe(true);
    const s2 = dashboardReducer(s1, {
      type: 'state',
      state: doc({ priorities: [{ id: 'P7', title: 't', status: 'open' }] }),
      at: 2,
    });
    expect(s2.stateStale).toBe(false);
    expect(s2.state?.priorities).toHaveLength(1);
  });

  it('applies a section value when the event carries one', () => {
    const s = reduce(
      { type: 'state', state: doc(), at: 1 },
      {
        type: 'events',
        events: [
          ev(2, 'system.state_changed', {
            section: 'priorities',
            value: [{ id: 'P1', title: 'x', status: 'approved' }],
          }),
        ],
      },
    );
    expect(s.stateStale).toBe(false);
    expect(s.state?.priorities[0]?.status).toBe('approved');
  });

  it('waits for a document before applying changes to it', () => {
    const s = reduce({
      type: 'events',
      events: [ev(2, 'system.status_changed', { status: 'ERROR', progress: 0, last_sync: null })],
    });
    expect(s.state).toBeNull();
  });
});

describe('the session', () => {
  it('follows lock events newer than the fetched session only', () => {
    const s = reduce(
      { type: 'session', session: { read_only: false, lock: lock('server') }, at: 30 },
      { type: 'events', events: [ev(20, 'session.lock_changed', { read_only: true, lock: lock('cli', 4242) })] },
    );
    expect(s.session?.read_only).toBe(false);
    const t = dashboardReducer(s, {
      type: 'events',
      events: [ev(31, 'session.lock_changed', { read_only: true, lock: lock('cli', 4242), reason: 'handover' })],
    });
    expect(t.session).toEqual({ read_only: true, lock: lock('cli', 4242) });
    const u = dashboardReducer(t, { type: 'session', session: { read_only: false, lock: lock('server') }, at: 25 });
    expect(u.session?.read_only).toBe(true); // a slow fetch from before event 31 is stale
  });

  it('says why writes are blocked, naming the holder', () => {
    expect(writeBlockedReason(initialDashboardState)).toMatch(/Waiting/);
    const writable = reduce({ type: 'session', session: { read_only: false, lock: lock('server') }, at: 1 });
    expect(writeBlockedReason(writable)).toBeNull();
    const held = reduce({ type: 'session', session: { read_only: true, lock: lock('cli', 4242) }, at: 1 });
    expect(writeBlockedReason(held)).toBe(
      'Read-only: the workspace is held by the CLI (pid 4242); changes resume when it is released',
    );
    const handover = reduce({ type: 'session', session: { read_only: true, lock: lock(null) }, at: 1 });
    expect(writeBlockedReason(handover)).toMatch(/handed over/);
    expect(writeBlockedReason(dashboardReducer(writable, { type: 'signed-out' }))).toMatch(/Signed out/);
    // A viewer may look but not change: the reason names the role it would need.
    const viewer = dashboardReducer(writable, { type: 'signed-in', user: { id: 'u1', name: 'ada', role: 'viewer' } });
    expect(writeBlockedReason(viewer)).toBe('Your role (viewer) may not do this: it needs operator. Ask an admin.');
    const operator = dashboardReducer(writable, {
      type: 'signed-in',
      user: { id: 'u2', name: 'bo', role: 'operator' },
    });
    expect(writeBlockedReason(operator)).toBeNull();
    const dropped = dashboardReducer(writable, {
      type: 'connection',
      status: { state: 'reconnecting', attempt: 1, retryAt: 1, lastError: null },
    });
    expect(writeBlockedReason(dropped)).toMatch(/^Not connected/);
  });

  it('offline wins over the last lock state seen: the cause is offline and the lock is no longer vouched for', () => {
    const held = reduce({ type: 'session', session: { read_only: true, lock: lock('cli', 4242) }, at: 1 });
    const writable = reduce({ type: 'session', session: { read_only: false, lock: lock('server') }, at: 1 });
    expect(writeBlockedCause(held)).toBe('read-only');
    expect(lockStateCurrent(writable)).toBe(true);
    for (const state of ['reconnecting', 'offline', 'stopped'] as const) {
      for (const before of [held, writable]) {
        const dropped = dashboardReducer(before, {
          type: 'connection',
          status: { state, attempt: 1, retryAt: null, lastError: 'closed (1006)' },
        });
        expect(writeBlockedCause(dropped)).toBe('offline');
        expect(lockStateCurrent(dropped)).toBe(false);
      }
    }
    expect(lockStateCurrent(dashboardReducer(writable, { type: 'signed-out' }))).toBe(false);
    expect(lockStateCurrent(initialDashboardState)).toBe(false);
  });
});

describe('the connection and the store', () => {
  it('keeps the link state and the filter text', () => {
    const s = reduce(
      { type: 'connection', status: { state: 'reconnecting', attempt: 2, retryAt: 123, lastError: 'closed (1006)' } },
      { type: 'filter-text', text: 'chat.*' },
    );
    expect(s.connection).toEqual({ state: 'reconnecting', attempt: 2, retryAt: 123, lastError: 'closed (1006)' });
    expect(s.filterText).toBe('chat.*');
  });

  it('notifies subscribers only when the state changes', () => {
    const store = new Store(dashboardReducer, initialDashboardState);
    let calls = 0;
    const unsubscribe = store.subscribe(() => calls++);
    store.dispatch({ type: 'filter-text', text: '' }); // unchanged: same object
    store.dispatch({ type: 'signed-out' });
    store.dispatch({ type: 'filter-text', text: '' });
    expect(calls).toBe(1);
    unsubscribe();
    store.dispatch({ type: 'signed-in', user: { id: 'u1', name: 'ada', role: 'viewer' } });
    expect(calls).toBe(1);
    expect(store.getState().signedIn).toBe(true);
    expect(store.getState().user?.name).toBe('ada');
  });
});
