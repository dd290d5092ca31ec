import fs from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger };

const ROTATE_AT_BYTES = 10 * 1024 * 1024;

/**
 * JSON logs to `<workspace>/.lookout/lookout.log` and to stderr. The file is rotated
 * once (to `.1`) at start when it has grown past 10 MiB, so it never grows unbounded.
 */
export function createLogger(options: { level: string; file?: string; stderr?: boolean }): Logger {
  if (options.level === 'silent') return pino({ level: 'silent' });
  const streams: pino.StreamEntry[] = [];
  if (options.file) {
    try {
      if (fs.statSync(options.file).size > ROTATE_AT_BYTES) fs.renameSync(options.file, `${options.file}.1`);
    } catch {
      // No log yet.
    }
    streams.push({
      level: options.level as pino.Level,
      stream: pino.destination({ dest: options.file, sync: false, mode: 0o600 }),
    });
  }
  if (options.stderr !== false) {
    streams.push({ level: options.level as pino.Level, stream: pino.destination({ dest: 2, sync: true }) });
  }
  return pino(
    { level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.multistream(streams),
  );
}

/** Flushes buffered file output; called last during a graceful stop. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A logger that cannot flush must not turn a clean stop into a crash.
  }
}
