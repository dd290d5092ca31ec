import { StartupError } from '../errors.ts';

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
    process.stderr.write(`lookout: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`lookout: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
}
