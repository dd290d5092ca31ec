import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '../src-shared/errors.ts';

/**
 * The one error type the server throws on purpose. It carries everything the single
 * renderer (http/middleware/error-handler.ts) needs; anything else that escapes is a bug
 * and becomes a 500 with no internals shown.
 */
export class LookoutError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'LookoutError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/**
 * A problem that stops the process from starting (bad setting, busy port, locked
 * workspace). The CLI prints `message` as one line and exits with `exitCode`.
 */
export class StartupError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'StartupError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Exit code for a bad setting or flag (CONTRACT: "exit code 2"). */
export const EXIT_USAGE = 2;

/** A stop that ran every step but some failed; the quit path turns it into exit code 1. */
export class StopError extends Error {
  readonly failures: readonly string[];
  constructor(failures: readonly string[]) {
    super(
      `stopped, but ${failures.length === 1 ? 'a step' : `${failures.length} steps`} failed: ${failures.join('; ')}`,
    );
    this.name = 'StopError';
    this.failures = failures;
  }
}
