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
