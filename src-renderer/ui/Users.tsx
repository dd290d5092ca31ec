import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { ROLES, type User } from '../../src-shared/access.ts';
import { ApiError } from '../connection/api.ts';
import { useController, useDashboard } from './hooks.ts';

/** The admins' page: who may sign in, with which role. */
export function UsersDialog({ onClose }: { onClose: () => void }) {
  const controller = useController();
  const me = useDashboard((s) => s.user);
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('viewer');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setUsers(await controller.listUsers());
    } catch (e) {
      setError((e as Error).message);
    }
  }, [controller]);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const add = (event: FormEvent) => {
    event.preventDefault();
    void act(async () => {
      await controller.createUser({ name: name.trim(), role, password });
      setName('');
      setPassword('');
    });
  };

  return (
    <div className="dialog-backdrop" onClick={onClose}>
      <section
        className="dialog users"
        role="dialog"
        aria-modal="true"
        aria-labelledby="users-title"
        onClick={(e) => e.stopPropagation()}
      >
        <header className="dialog-header">
          <h2 id="users-title">Users</h2>
          <button type="button" className="button" onClick={onClose} title="Close (Esc)">
            Close
          </button>
        </header>
        <p className="dialog-note">
          Viewers read everything; operators also publish events and run commands; admins also manage users. A change of
          role or password, and disabling, end that user&apos;s sign-ins at once.
        </p>
        {error && (
          <p className="sign-in-error" role="alert">
            {error}
          </p>
        )}
        <table className="users-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Status</th>
              <th>Last sign-in</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users === null && (
              <tr>
                <td colSpan={5}>Loading…</td>
              </tr>
            )}
            {users?.length === 0 && (
              <tr>
                <td colSpan={5}>No users yet: add one below (or `lookout user add NAME --role viewer`).</td>
              </tr>
            )}
            {users?.map((user) => (
              <tr key={user.id} data-disabled={user.disabled}>
                <td>{user.name}</td>
                <td>
                  <select
                    aria-label={`Role of ${user.name}`}
                    value={user.role}
                    disabled={busy}
                    onChange={(e) => void act(() => controller.updateUser(user.id, { role: e.target.value }))}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{user.disabled ? 'disabled' : 'active'}</td>
                <td>{user.last_sign_in_at ? new Date(user.last_sign_in_at).toLocaleString() : 'never'}</td>
                <td className="users-actions">
                  <button
                    type="button"
                    className="button"
                    disabled={busy || user.id === me?.id}
                    title={user.id === me?.id ? 'You cannot disable yourself' : undefined}
                    onClick={() => void act(() => controller.updateUser(user.id, { disabled: !user.disabled }))}
                  >
                    {user.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button
                    type="button"
                    className="button danger"
                    disabled={busy || user.id === me?.id}
                    title={user.id === me?.id ? 'You cannot remove yourself' : `Remove ${user.name}`}
                    onClick={() => {
                      if (window.confirm(`Remove ${user.name}? Their sign-ins end now.`))
                        void act(() => controller.removeUser(user.id));
                    }}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="users-add" onSubmit={add} aria-label="Add a user">
          <input
            aria-label="New user's name"
            placeholder="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
          />
          <select aria-label="New user's role" value={role} onChange={(e) => setRole(e.target.value)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <input
            aria-label="New user's password"
            type="password"
            autoComplete="new-password"
            placeholder="Password (8+ characters)"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            minLength={8}
          />
          <button type="submit" className="button primary" disabled={busy || name.trim() === '' || password.length < 8}>
            Add user
          </button>
        </form>
      </section>
    </div>
  );
}
