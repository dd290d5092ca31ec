import { REFRESH_BINDING_STORAGE_KEY } from '../../src-shared/access.ts';
import { ApiError, AuthClient, type AuthState, readResponse } from '../../src-shared/auth-client.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';

/**
 * fetch for the dashboard: every call carries the access token (kept in memory only),
 * writes are JSON (the server refuses anything else), and every failure becomes an
 * ApiError carrying the server's own `code` and `message`.
 */

export { ApiError };

/** The REST prefix as the dashboard's calls spell it: the shared contract's. */
export const API = API_PREFIX;

/** The refresh binding in localStorage: per origin (so per port), shared by this origin's tabs. */
const bindingStore = {
  get: () => {
    try {
      return localStorage.getItem(REFRESH_BINDING_STORAGE_KEY);
    } catch {
      return null;
    }
  },
  set: (value: string) => localStorage.setItem(REFRESH_BINDING_STORAGE_KEY, value),
  clear: () => localStorage.removeItem(REFRESH_BINDING_STORAGE_KEY),
};

const authListeners = new Set<(state: AuthState) => void>();

/** One sign-in per page. Tabs of this origin refresh one at a time (Web Locks) so none presents a rotated-away token. */
export const auth = new AuthClient({
  baseUrl: '',
  fetch: (url, init) => fetch(url, init),
  binding: bindingStore,
  exclusive:
    typeof navigator !== 'undefined' && 'locks' in navigator
      ? <T>(fn: () => Promise<T>) => navigator.locks.request('lookout-refresh', fn) as Promise<T>
      : undefined,
  onChange: (state) => {
    for (const listener of authListeners) listener(state);
  },
});

export function onAuthChange(listener: (state: AuthState) => void): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export async function request<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const response = await auth.fetch(path, {
    method,
    cache: 'no-store',
    headers:
      body === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: options.signal,
  });
  return readResponse<T>(response);
}

export const get = <T = unknown>(path: string, options?: { signal?: AbortSignal }): Promise<T> =>
  request<T>('GET', path, undefined, options);
export const post = <T = unknown>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body);
export const patch = <T = unknown>(path: string, body: unknown): Promise<T> => request<T>('PATCH', path, body);
export const del = <T = unknown>(path: string): Promise<T> => request<T>('DELETE', path);
