import fs from 'node:fs';
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

export type { Logger };

const ROTATE_AT_BYTES = 10 * 1024 * 1024;

/**
 * JSON logs to `<workspace>/.lookout/lookout.log` and to stderr. The file is rotated
 * once (to `.1`) at start when it has grown past 10 MiB, so it never grows unbounded.
 * A person at a terminal gets readable lines on stderr instead (`14:02:11.123 INFO:
 * GET /health 200 (0.4 ms)`); piped or redirected, stderr stays JSON for machines.
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
    const stream = process.stderr.isTTY ? readableStderr() : pino.destination({ dest: 2, sync: true });
    streams.push({ level: options.level as pino.Level, stream });
  }
  return pino(
    { level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.multistream(streams),
  );
}

/** The request log's fields, said in its message on a terminal instead of as key=value. */
const REQUEST_FIELDS = ['method', 'path', 'status', 'duration_ms'];

/**
 * pino-pretty, in this process and synchronous (a worker-thread transport would cost
 * start-up time and could lose the last lines at exit). Loaded only for a terminal, so a
 * server started by a script or the desktop app never pays for it.
 */
function readableStderr(): pino.DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pretty({
    destination: 2,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', ...REQUEST_FIELDS].join(','),
    singleLine: true,
    messageFormat: (log, messageKey) => {
      const message = String(log[messageKey] ?? '');
      if (log.method === undefined) return message;
      return `${message}: ${String(log.method)} ${String(log.path)} ${String(log.status)} (${String(log.duration_ms)} ms)`;
    },
  });
}

/** Flushes buffered file output; called last during a graceful stop. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A logger that cannot flush must not turn a clean stop into a crash.
  }
}
