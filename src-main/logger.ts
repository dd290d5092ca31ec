import fs from 'node:fs';
import pino, { type Logger } from 'pino';
import type { LogFile } from './log-file.ts';

export type { Logger };

/**
 * stderr as a pino destination that never throws: a closed pipe (`lookout serve 2>&1 |
 * head -1`) or a full pipe drops the line instead of taking the server down.
 */
const stderrDestination = {
  write(line: string): boolean {
    try {
      fs.writeSync(2, line);
    } catch {
      // Nobody is reading stderr any more; the file log still has it.
    }
    return true;
  },
};

/**
 * JSON logs to `<workspace>/.lookout/lookout.log` (a LogFile: rotated by size, paused
 * rather than fatal on a write error) and, for `lookout serve`, to stderr.
 */
export function createLogger(options: { level: string; file?: LogFile; stderr?: boolean }): Logger {
  if (options.level === 'silent') return pino({ level: 'silent' });
  const streams: pino.StreamEntry[] = [];
  if (options.file) streams.push({ level: options.level as pino.Level, stream: options.file });
  if (options.stderr !== false) streams.push({ level: options.level as pino.Level, stream: stderrDestination });
  return pino(
    { level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.multistream(streams),
  );
}

/** Flushes buffered file output; called last during a graceful stop. */
export function flushLogger(logger: Logger, file?: LogFile): void {
  try {
    logger.flush();
  } catch {
    // A logger that cannot flush must not turn a clean stop into a crash.
  }
  file?.close();
}
