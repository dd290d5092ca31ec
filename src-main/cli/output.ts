import { StartupError } from '../errors.ts';
import { forTerminal } from './terminal-text.ts';

/** Every CLI failure is one line on stderr that says what to do, then an exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function reportAndExit(error: unknown): never {
  if (error instanceof CliError || error instanceof StartupError) {
    // Messages can quote files and lock records another process wrote: never raw controls.
    process.stderr.write(`lookout: ${forTerminal(error.message)}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`lookout: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
}

/**
 * A command's action: it resolves to an exit code (or undefined to keep running, like a
 * follower), and any failure becomes the one-line report.
 */
export function commandAction<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined>) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (code !== undefined) process.exit(code);
    } catch (error) {
      reportAndExit(error);
    }
  };
}
