import { ErrorBody } from '../../src-shared/errors.ts';
import { API_PREFIX } from '../../src-shared/protocol.ts';

/**
 * fetch for the dashboard: same origin, the HttpOnly session cookie does the auth, writes
 * are JSON (the server refuses anything else), and every failure becomes an ApiError
 * carrying the server's own `code` and `message`.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The REST prefix as the dashboard's calls spell it: the shared contract's. */
export const API = API_PREFIX;

export async function request<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  const text = await response.text();
  let json: unknown = undefined;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!response.ok) {
    const parsed = ErrorBody.safeParse(json);
    if (parsed.success)
      throw new ApiError(response.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.details);
    throw new ApiError(
      response.status,
      'http_error',
      `the server answered ${response.status} ${response.statusText}`.trim(),
    );
  }
  return json as T;
}

export const get = <T = unknown>(path: string, options?: { signal?: AbortSignal }): Promise<T> =>
  request<T>('GET', path, undefined, options);
export const post = <T = unknown>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body);

/** Trades a pasted token for the session cookie without leaving the page. */
export async function signIn(token: string): Promise<void> {
  await request('POST', '/sign-in', { token });
}
