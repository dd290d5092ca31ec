import { type FormEvent, useState } from 'react';
import { describeLock } from '../model/format.ts';
import { ApiError } from '../connection/api.ts';
import { useController, useDashboard } from './hooks.ts';
import { LockIcon, WarnIcon } from './icons.tsx';

/**
 * Present (empty) all the time so assistive tech announces it when it fills: a live
 * region inserted together with its text is often not read.
 */
export function ReadOnlyBanner() {
  const session = useDashboard((s) => s.session);
  const readOnly = session?.read_only === true;
  const holder = session ? describeLock(session.lock) : '';
  return (
    <div className="banner-slot" role="status">
      {readOnly && (
        <div className="banner read-only">
          <LockIcon />
          <span>
            {session.lock.holder
              ? `Read-only — ${holder} holds the workspace. Changes are disabled until it is released.`
              : 'Read-only — the workspace lock is being handed over.'}
          </span>
        </div>
      )}
    </div>
  );
}

export function SignedOutBanner() {
  const controller = useController();
  const signedIn = useDashboard((s) => s.signedIn);
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (signedIn) return null;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await controller.signIn(token.trim());
      setToken('');
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? 'That token is not valid: it changes every time the server starts.'
          : (e as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="banner signed-out" role="alert">
      <WarnIcon />
      <span>
        Signed out — the server restarted with a new session token. Run <code>lookout open</code>, or paste the token
        from <code>.lookout/server.json</code>:
      </span>
      <form className="inline-form" onSubmit={submit}>
        <input
          type="password"
          aria-label="Session token"
          placeholder="Session token"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" className="button" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
      {error && <span className="banner-error">{error}</span>}
    </div>
  );
}
