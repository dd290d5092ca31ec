import { type FormEvent, useState } from 'react';
import { ApiError } from '../connection/api.ts';
import { useController, useDashboard } from './hooks.ts';
import { LogoIcon } from './icons.tsx';

function describeError(error: unknown, what: 'password' | 'token'): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return error.message;
    if (error.status === 401)
      return what === 'token'
        ? 'That token is not valid: it changes every time the server starts. Take the current one from .lookout/server.json.'
        : error.message.includes('disabled')
          ? error.message
          : 'The name or password is wrong.';
    if (error.status === 0) return 'The server cannot be reached: is it running?';
  }
  return (error as Error).message;
}

/**
 * The sign-in screen: a user's name and password, or the owner's token pasted from
 * `.lookout/server.json`. Both are POSTed (never put in a URL). `lookout open` signs in
 * without either, with a one-time code.
 */
export function SignIn() {
  const controller = useController();
  const signedIn = useDashboard((s) => s.signedIn);
  const reason = useDashboard((s) => s.signedOutReason);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (signedIn) return null;

  const submit =
    (body: { name: string; password: string } | { token: string }, what: 'password' | 'token') =>
    async (event: FormEvent) => {
      event.preventDefault();
      setBusy(true);
      setError(null);
      try {
        await controller.signIn(body);
        setPassword('');
        setToken('');
      } catch (e) {
        setError(describeError(e, what));
      } finally {
        setBusy(false);
      }
    };

  return (
    <div className="sign-in-backdrop">
      <section className="sign-in" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <LogoIcon /> Sign in to Lookout
        </h1>
        {reason && <p className="sign-in-reason">{reason}</p>}
        <form
          method="post"
          onSubmit={submit({ name: name.trim(), password }, 'password')}
          aria-label="Password sign-in"
        >
          <label>
            Name
            <input
              name="username"
              autoComplete="username"
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
            />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </label>
          <button type="submit" className="button primary" disabled={busy || name.trim() === '' || password === ''}>
            Sign in
          </button>
        </form>
        <p className="sign-in-or">
          Or, on this machine: run <code>lookout open</code> in the workspace (or <code>lookout open --print</code> on a
          machine without a desktop, then open the link it prints within 60 s), or paste the owner token from{' '}
          <code>.lookout/server.json</code>:
        </p>
        <form method="post" onSubmit={submit({ token: token.trim() }, 'token')} aria-label="Token sign-in">
          <label>
            Owner token
            <input
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
          </label>
          <button type="submit" className="button" disabled={busy || token.trim() === ''}>
            Sign in with token
          </button>
        </form>
        {error && (
          <p className="sign-in-error" role="alert">
            {error}
          </p>
        )}
      </section>
    </div>
  );
}
