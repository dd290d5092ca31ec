/**
 * Everything that ends a Lookout process goes through here: in the desktop app the
 * tray's Quit, the app menu (and Cmd+Q, which Electron reports as before-quit), closing
 * the window when close-to-tray is off, SIGINT/SIGTERM and the OS shutting down; in
 * `lookout serve`, SIGINT/SIGTERM.
 */
export type QuitReason =
  'tray' | 'app-menu' | 'before-quit' | 'window-close' | 'SIGINT' | 'SIGTERM' | 'os-shutdown' | 'session-end';

/**
 * `stopped`: the server stopped cleanly. `timed_out`: it did not within the bound, and
 * the app left anyway (the OS must never wait on us). `failed`: stop() threw.
 * `forced`: a second request arrived while stopping — the user (or the OS) insists.
 */
export type QuitOutcome = 'stopped' | 'timed_out' | 'failed' | 'forced';

/** Same codes as `lookout serve`: 0 clean, 130 when a second signal forced the exit. */
export const QUIT_EXIT_CODES: Readonly<Record<QuitOutcome, number>> = {
  stopped: 0,
  timed_out: 1,
  failed: 1,
  forced: 130,
};

/** Enough for the runtime's own ordered stop (5 s default drain) plus closing the store. */
export const DEFAULT_QUIT_TIMEOUT_MS = 8000;

export interface QuitSequenceOptions {
  /** Stops whatever is running (the server toggle's stop). */
  stop: () => Promise<unknown>;
  /** Ends the process; called exactly once (Electron's app.exit in the app). */
  exit: (code: number) => void;
  timeoutMs?: number;
  log?: (message: string) => void;
}

/**
 * One quit path: bounded by a timeout, idempotent, and a second request forces. The
 * first request starts stop(); the process exits when it settles or the timeout fires,
 * whichever is first. A request during that wait exits at once. Requests after the exit
 * changes nothing and get the same outcome.
 */
export class QuitSequence {
  readonly #stop: () => Promise<unknown>;
  readonly #exit: (code: number) => void;
  readonly #timeoutMs: number;
  readonly #log: (message: string) => void;
  #outcome: Promise<QuitOutcome> | undefined;
  #resolve: ((outcome: QuitOutcome) => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #finished = false;

  constructor(options: QuitSequenceOptions) {
    this.#stop = options.stop;
    this.#exit = options.exit;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_QUIT_TIMEOUT_MS;
    this.#log = options.log ?? (() => undefined);
  }

  /** True once a quit was requested: windows close for real, nothing new starts. */
  get requested(): boolean {
    return this.#outcome !== undefined;
  }

  get finished(): boolean {
    return this.#finished;
  }

  request(reason: QuitReason): Promise<QuitOutcome> {
    if (this.#outcome) {
      if (!this.#finished) this.#finish('forced', `${reason} while stopping`);
      return this.#outcome;
    }
    this.#outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.#log(`quit requested (${reason}): stopping the server (at most ${this.#timeoutMs} ms)`);
    this.#timer = setTimeout(
      () => this.#finish('timed_out', `the server did not stop within ${this.#timeoutMs} ms`),
      this.#timeoutMs,
    );
    // Promise.resolve().then: a stop() that throws synchronously is a failure, not a crash.
    Promise.resolve()
      .then(() => this.#stop())
      .then(
        () => this.#finish('stopped'),
        (error: unknown) => this.#finish('failed', error instanceof Error ? error.message : String(error)),
      );
    return this.#outcome;
  }

  #finish(outcome: QuitOutcome, detail?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#timer);
    this.#log(`quitting: ${outcome}${detail ? ` (${detail})` : ''}`);
    try {
      this.#exit(QUIT_EXIT_CODES[outcome]);
    } finally {
      this.#resolve?.(outcome);
    }
  }
}
