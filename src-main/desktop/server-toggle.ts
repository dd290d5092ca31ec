import type { EventEnvelope } from '../../src-shared/events.ts';
import type { SessionState } from '../../src-shared/session.ts';
import type { Config } from '../config.ts';

/**
 * Why the server is not running when the user expected it to be. `port_taken` is
 * singled out because the tray offers a remedy for it (start on a free port).
 */
export type FailureReason = 'port_taken' | 'no_workspace' | 'startup_failed' | 'stop_failed';

export type ServerState =
  | { readonly status: 'stopped' }
  | { readonly status: 'starting' }
  /** `address` is `host:port` as people write it (`127.0.0.1:3000`). */
  | { readonly status: 'running'; readonly url: string; readonly address: string; readonly port: number }
  | { readonly status: 'stopping' }
  | { readonly status: 'error'; readonly reason: FailureReason; readonly message: string };

export type ServerStatus = ServerState['status'];

/**
 * What the toggle needs from a runtime. `Runtime` from runtime.ts satisfies it; tests
 * may hand in wrappers (a slow start, a failing stop) without building a whole one.
 */
export interface ToggleRuntime {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly config: { readonly workspace: string };
  readonly session: { readonly state: SessionState };
  /** Mints the one-time sign-in codes the window and the browser sign in with. */
  readonly access: { mintCode(): Promise<{ code: string; expires_in: number }> };
  readonly bus: { listen(patterns: readonly string[], listener: (event: EventEnvelope) => void): () => void };
  stop(): Promise<void>;
}

export type RuntimeFactory = (config: Config) => Promise<ToggleRuntime>;

export interface StartOptions {
  /** A one-off port for this start (0: any free one); the configured port is kept. */
  port?: number;
}

const STOPPED: ServerState = { status: 'stopped' };

/**
 * The tray's Start/Stop switch: at most one runtime at a time, driven through
 * stopped → starting → running → stopping → stopped, with an error state that says
 * what went wrong. Operations run one after another, and each decides from the state it
 * finds when its turn comes — so a start while running, or a stop while stopped, does
 * nothing, and a stop clicked during a start stops the server once it is up (a
 * half-started runtime cannot be cancelled, only stopped).
 *
 * start() and stop() never reject: failures become the error state, which is what the
 * tray and the window show. They resolve with the state after the operation.
 */
export class ServerToggle {
  readonly #createRuntime: RuntimeFactory;
  #config: Config | null;
  #state: ServerState = STOPPED;
  #runtime: ToggleRuntime | undefined;
  #unlisten: (() => void) | undefined;
  #listeners = new Set<(state: ServerState) => void>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: { createRuntime: RuntimeFactory; config: Config | null }) {
    this.#createRuntime = options.createRuntime;
    this.#config = options.config;
  }

  get state(): ServerState {
    return this.#state;
  }

  /** The running runtime (for its token, bus and workspace), if any. */
  get runtime(): ToggleRuntime | undefined {
    return this.#runtime;
  }

  /** The runtime while it serves (status running), else undefined: what the window and menus act on. */
  get serving(): ToggleRuntime | undefined {
    return this.#state.status === 'running' ? this.#runtime : undefined;
  }

  get config(): Config | null {
    return this.#config;
  }

  /** Who holds the workspace, while a runtime is up; null otherwise. */
  get session(): SessionState | null {
    return this.#runtime?.session.state ?? null;
  }

  /**
   * Called after every state change and every lock change of the running runtime
   * (read-only comes and goes without the server stopping).
   */
  onChange(listener: (state: ServerState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(options: StartOptions = {}): Promise<ServerState> {
    return this.#enqueue(() => this.#start(options));
  }

  stop(): Promise<ServerState> {
    return this.#enqueue(() => this.#stop());
  }

  /** Decided now, from what the user sees: a server that is up or coming up gets stopped. */
  toggle(): Promise<ServerState> {
    const status = this.#state.status;
    return status === 'running' || status === 'starting' ? this.stop() : this.start();
  }

  /**
   * Stops the current runtime (if any), adopts `config` and starts it — how switching
   * workspaces happens. With `null`, the toggle is left stopped with no workspace.
   */
  restartWith(config: Config | null): Promise<ServerState> {
    return this.#enqueue(async () => {
      await this.#stop();
      this.#config = config;
      if (config) await this.#start({});
    });
  }

  #enqueue(operation: () => Promise<void>): Promise<ServerState> {
    const run = this.#queue.then(operation);
    // The queue must survive a failed operation; the failure itself is already a state.
    this.#queue = run.catch(() => undefined);
    return run.then(() => this.#state);
  }

  async #start(options: StartOptions): Promise<void> {
    if (this.#runtime) return;
    const base = this.#config;
    if (!base) {
      this.#set({
        status: 'error',
        reason: 'no_workspace',
        message: 'no workspace chosen: choose a folder for Lookout to serve',
      });
      return;
    }
    const config = options.port === undefined ? base : { ...base, port: options.port };
    this.#set({ status: 'starting' });
    let runtime: ToggleRuntime;
    try {
      runtime = await this.#createRuntime(config);
    } catch (error) {
      this.#set(startFailure(error, config));
      return;
    }
    this.#runtime = runtime;
    this.#unlisten = runtime.bus.listen(['session.*'], () => this.#emit());
    this.#set({ status: 'running', url: runtime.url, address: new URL(runtime.url).host, port: runtime.port });
  }

  async #stop(): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime) {
      // Stopping from an error acknowledges it: the user asked for "not running".
      if (this.#state.status === 'error') this.#set(STOPPED);
      return;
    }
    this.#set({ status: 'stopping' });
    this.#unlisten?.();
    this.#unlisten = undefined;
    try {
      await runtime.stop();
      this.#runtime = undefined;
      this.#set(STOPPED);
    } catch (error) {
      // Forget it anyway: a runtime that failed to stop cannot be stopped again, and
      // keeping it would block every later start.
      this.#runtime = undefined;
      this.#set({
        status: 'error',
        reason: 'stop_failed',
        message: `the server did not stop cleanly: ${messageOf(error)}`,
      });
    }
  }

  #set(state: ServerState): void {
    this.#state = state;
    this.#emit();
  }

  #emit(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(this.#state);
      } catch {
        // A broken view must not wedge the state machine.
      }
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Port-taken gets its own reason and words; anything else keeps the runtime's one-line message. */
function startFailure(error: unknown, config: Config): ServerState {
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code === 'EADDRINUSE') {
    return { status: 'error', reason: 'port_taken', message: `port ${config.port} is in use by another program` };
  }
  return { status: 'error', reason: 'startup_failed', message: messageOf(error) };
}
