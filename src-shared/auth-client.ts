import { type Principal, SignInResponse, TicketResponse } from './access.ts';
import { API_PREFIX, AUTH_PATH, HEADERS } from './protocol.ts';
import { ErrorBody } from './errors.ts';

/** A failed API call: the server's own `code` and `message` (status 0: the server could not be reached). */
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

/** Turns a response into its JSON, or throws an ApiError carrying the server's error body. */
export async function readResponse<T>(response: Response): Promise<T> {
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

export type AuthStatus = 'unknown' | 'signed-in' | 'signed-out';

export interface AuthState {
  status: AuthStatus;
  user: Principal | null;
  /** Why the page is signed out, in words for the sign-in form. */
  reason: string | null;
}

/** Where the page keeps its refresh binding: origin-scoped storage (another port cannot read it). */
export interface BindingStore {
  get(): string | null;
  set(value: string): void;
  clear(): void;
}

export interface AuthClientOptions {
  /** '' in the page (same origin); the server URL elsewhere. */
  baseUrl: string;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  binding: BindingStore;
  /** Runs fn while no other tab of this origin refreshes (navigator.locks in the page). */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  onChange?: (state: AuthState) => void;
  /** Refresh this long before the access token expires. */
  refreshAheadMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const AUTH = `${API_PREFIX}${AUTH_PATH}`;

/**
 * The page's credentials: the access token in memory only, the refresh binding in
 * origin-scoped storage, the refresh cookie (HttpOnly) in the browser. It refreshes
 * silently before expiry and once on a 401, survives a server restart (the refresh
 * outlives it), and stops for good — asking to sign in — only when a refresh is truly
 * refused, never because the server was briefly unreachable.
 */
export class AuthClient {
  readonly #o: AuthClientOptions;
  #access: string | null = null;
  #expiresAt = 0;
  #state: AuthState = { status: 'unknown', user: null, reason: null };
  #refreshing: Promise<void> | undefined;
  #timer: unknown;

  constructor(options: AuthClientOptions) {
    this.#o = options;
  }

  get state(): AuthState {
    return this.#state;
  }

  get hasBinding(): boolean {
    return this.#o.binding.get() !== null;
  }

  #set(state: AuthState): void {
    this.#state = state;
    this.#o.onChange?.(state);
  }

  async #post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await this.#o.fetch(`${this.#o.baseUrl}${path}`, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'the server cannot be reached');
    }
  }

  #accept(session: SignInResponse): void {
    this.#access = session.access_token;
    this.#expiresAt = Date.now() + session.expires_in * 1000;
    this.#o.binding.set(session.refresh_binding);
    this.#set({ status: 'signed-in', user: session.user, reason: null });
    this.#schedule(session.expires_in * 1000);
  }

  #schedule(lifetimeMs: number): void {
    const { setTimer = setTimeout, clearTimer = (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) } =
      this.#o;
    if (this.#timer !== undefined) clearTimer(this.#timer);
    const ahead = Math.min(this.#o.refreshAheadMs ?? 60_000, lifetimeMs / 5);
    this.#timer = setTimer(() => {
      this.#timer = undefined;
      // A failure here is handled where it matters: the next call refreshes again or signs out.
      this.refresh().catch(() => undefined);
    }, lifetimeMs - ahead);
  }

  /** Signs in with `{name, password}`, `{code}` or `{token}`. */
  async signIn(body: { name: string; password: string } | { code: string } | { token: string }): Promise<Principal> {
    const session = SignInResponse.parse(await readResponse(await this.#post(`${AUTH}/sign-in`, body)));
    this.#accept(session);
    return session.user;
  }

  /**
   * A new access token from the refresh cookie and the stored binding. One at a time in
   * this tab, and (with `exclusive`) across tabs, each reading the binding only once it
   * holds the lock, so tabs sharing a sign-in never present a rotated-away token.
   * A refusal (401) signs out; an unreachable server throws and keeps the sign-in.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      const run = async () => {
        const binding = this.#o.binding.get();
        if (binding === null) {
          this.#signedOut('Sign in to continue.');
          throw new ApiError(401, 'unauthorized', 'not signed in');
        }
        const response = await this.#post(`${AUTH}/refresh`, undefined, { [HEADERS.refreshBinding]: binding });
        try {
          this.#accept(SignInResponse.parse(await readResponse(response)));
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) {
            this.#o.binding.clear();
            this.#signedOut('Your sign-in has ended. Sign in again.');
          }
          throw error;
        }
      };
      try {
        await (this.#o.exclusive ? this.#o.exclusive(run) : run());
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  #signedOut(reason: string): void {
    this.#access = null;
    this.#expiresAt = 0;
    const { clearTimer = (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) } = this.#o;
    if (this.#timer !== undefined) clearTimer(this.#timer);
    this.#timer = undefined;
    if (this.#state.status !== 'signed-out') this.#set({ status: 'signed-out', user: null, reason });
  }

  /**
   * fetch with the access token. An expired or refused token is refreshed once and the
   * call retried once; when the refresh is refused the page is signed out and stops.
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    if (this.#state.status === 'signed-out') throw new ApiError(401, 'unauthorized', 'signed out: sign in again');
    if (this.#access === null || Date.now() >= this.#expiresAt - 5_000) await this.refresh();
    const attempt = async () => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${this.#access}`);
      try {
        return await this.#o.fetch(`${this.#o.baseUrl}${path}`, { ...init, headers, credentials: 'same-origin' });
      } catch (error) {
        if ((error as Error).name === 'AbortError') throw error;
        throw new ApiError(0, 'network', 'the server cannot be reached');
      }
    };
    const first = await attempt();
    if (first.status !== 401) return first;
    await this.refresh();
    return attempt();
  }

  /** A single-use ticket for /ws or SSE. */
  async ticket(): Promise<string> {
    return TicketResponse.parse(await readResponse(await this.fetch(`${AUTH}/ticket`, { method: 'POST' }))).ticket;
  }

  /** Ends this sign-in on the server and forgets it here. */
  async signOut(): Promise<void> {
    const binding = this.#o.binding.get();
    try {
      await this.#post(`${AUTH}/sign-out`, undefined, binding === null ? {} : { [HEADERS.refreshBinding]: binding });
    } finally {
      this.#o.binding.clear();
      this.#signedOut('Signed out.');
    }
  }

  /** Gives up on the current sign-in without telling the server (e.g. no way to resume it). */
  requireSignIn(reason: string): void {
    this.#signedOut(reason);
  }

  dispose(): void {
    const { clearTimer = (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) } = this.#o;
    if (this.#timer !== undefined) clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
