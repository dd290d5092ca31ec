import { useState } from 'react';
import type { LiveState } from '../../src-shared/live-client.ts';
import { roleBlockedReason } from '../model/dashboard-state.ts';
import { describeLock, formatAge, formatDuration, secondsUntil } from '../model/format.ts';
import { ApiError } from '../connection/api.ts';
import { lockStateCurrent } from '../model/dashboard-state.ts';
import { useController, useDashboard, useNow, useWriteBlocked } from './hooks.ts';
import { LockIcon, LogoIcon, SyncIcon, UnlockIcon } from './icons.tsx';
import { UsersDialog } from './Users.tsx';

/** The three words the indicator may read: the first attempt counts as reconnecting. */
const CONNECTION_LABEL: Record<LiveState, 'Live' | 'Reconnecting' | 'Offline'> = {
  live: 'Live',
  connecting: 'Reconnecting',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
  stopped: 'Offline',
};

function ConnectionIndicator() {
  const controller = useController();
  const connection = useDashboard((s) => s.connection);
  const waiting = connection.retryAt !== null && connection.state !== 'live';
  const now = useNow(1000, waiting);
  const label = CONNECTION_LABEL[connection.state];
  const retryIn = connection.retryAt === null ? null : secondsUntil(connection.retryAt, now);
  const title =
    connection.lastError && label !== 'Live'
      ? `Last error: ${connection.lastError}`
      : label === 'Live'
        ? 'Receiving events live'
        : undefined;
  return (
    <div className="connection" data-state={label.toLowerCase()} title={title} aria-live="polite">
      <span className="connection-dot" aria-hidden />
      <span className="connection-label" data-testid="connection-state">
        {label}
      </span>
      {waiting && retryIn !== null && (
        <>
          <span className="connection-retry">{retryIn > 0 ? `retry in ${formatDuration(retryIn)}` : 'retrying…'}</span>
          <button type="button" className="link-button" onClick={() => controller.retryNow()}>
            Retry now
          </button>
        </>
      )}
    </div>
  );
}

function LockBadge() {
  const session = useDashboard((s) => s.session);
  const current = useDashboard(lockStateCurrent);
  if (session === null)
    return (
      <span className="lock-badge" data-mode="unknown">
        Lock…
      </span>
    );
  const { read_only, lock } = session;
  const holder = describeLock(lock);
  // Offline or signed out, the page cannot know who holds the workspace now: say so
  // instead of vouching for the last state it saw.
  if (!current)
    return (
      <span
        className="lock-badge"
        data-mode="unknown"
        title={`Not connected: the lock is unknown until the connection is back (last known: ${read_only ? `read-only, ${holder}` : 'writable'})`}
      >
        <LockIcon />
        Lock unknown
      </span>
    );
  const title = read_only
    ? `Read-only: ${holder === 'nobody' ? 'the lock is being handed over' : `${holder}${lock.hostname ? ` on ${lock.hostname}` : ''} holds the workspace`}`
    : `Writable: this server holds the workspace lock${lock.since ? ` (${holder})` : ''}`;
  return (
    <span className="lock-badge" data-mode={read_only ? 'read-only' : 'writable'} title={title}>
      {read_only ? <LockIcon /> : <UnlockIcon />}
      {read_only ? (lock.holder === 'cli' ? `CLI pid ${lock.pid ?? '?'}` : 'Read-only') : 'Writable'}
    </span>
  );
}

function SystemStatus() {
  const system = useDashboard((s) => s.state?.system ?? null);
  const now = useNow(30_000);
  const status = system?.status ?? 'UNKNOWN';
  const progress = system?.progress ?? 0;
  return (
    <div className="system-status" data-status={status.toLowerCase()} title={system?.message}>
      <span className="system-status-label">{status}</span>
      <div
        className="progress"
        role="progressbar"
        aria-label="System progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={progress}
        aria-valuetext={`${status}, ${progress}%`}
      >
        <div className="progress-fill" style={{ width: `${progress}%` }} />
      </div>
      <span className="system-status-percent">{progress}%</span>
      <span className="system-status-sync">
        {system?.last_sync ? `Synced ${formatAge(system.last_sync, now)}` : system ? 'Never synced' : ''}
      </span>
    </div>
  );
}

function SyncButton() {
  const controller = useController();
  const blocked = useWriteBlocked();
  const status = useDashboard((s) => s.state?.system.status);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const running = status === 'COLLECTING' || status === 'PROCESSING';
  const reason = blocked ?? (running ? 'A collection is already running' : null);
  const sync = async () => {
    setBusy(true);
    setError(null);
    try {
      await controller.startCollection();
    } catch (e) {
      setError(e instanceof ApiError && e.status === 409 ? 'A collection is already running' : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="sync">
      <button
        type="button"
        className="button primary"
        disabled={reason !== null || busy}
        title={reason ?? error ?? 'Start a collection: git commits and file changes since the last sync'}
        onClick={sync}
      >
        <SyncIcon />
        {running ? 'Syncing…' : 'Sync'}
      </button>
      {error && (
        <span className="sync-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

/** Who is signed in, the admins' Users page, and sign-out. */
function UserMenu() {
  const controller = useController();
  const user = useDashboard((s) => s.user);
  const [showUsers, setShowUsers] = useState(false);
  if (!user) return null;
  const admin = roleBlockedReason(user, 'admin');
  return (
    <div className="user-menu">
      <span className="user-badge" data-role={user.role} title={`Signed in as ${user.name} (${user.role})`}>
        {user.name} <span className="user-role">{user.role}</span>
      </span>
      <button
        type="button"
        className="button"
        disabled={admin !== null}
        title={admin ?? 'Manage who may sign in'}
        onClick={() => setShowUsers(true)}
      >
        Users
      </button>
      <button type="button" className="button" title="End this sign-in" onClick={() => void controller.signOut()}>
        Sign out
      </button>
      {showUsers && <UsersDialog onClose={() => setShowUsers(false)} />}
    </div>
  );
}

export function Header() {
  const server = useDashboard((s) => s.server);
  return (
    <header className="header">
      <div className="brand">
        <LogoIcon />
        <span className="brand-name">Lookout</span>
        {server && (
          <span className="brand-workspace" title={`${server.workspace} · Lookout ${server.version}`}>
            {basename(server.workspace)}
          </span>
        )}
      </div>
      <SystemStatus />
      <div className="header-end">
        <LockBadge />
        <ConnectionIndicator />
        <SyncButton />
        <UserMenu />
      </div>
    </header>
  );
}
