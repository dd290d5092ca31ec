import fs from 'node:fs';
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

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
 * rather than fatal on a write error) and, for `lookout serve`, to stderr. A person at
 * a terminal gets readable lines on stderr instead (`14:02:11.123 INFO: GET /health 200
 * (0.4 ms)`); piped or redirected, stderr stays JSON for machines.
 */
export function createLogger(options: { level: string; file?: LogFile; stderr?: boolean }): Logger {
  if (options.level === 'silent') return pino({ level: 'silent' });
  const streams: pino.StreamEntry[] = [];
  if (options.file) streams.push({ level: options.level as pino.Level, stream: options.file });
  if (options.stderr !== false) {
    const stream = process.stderr.isTTY ? readableStderr() : stderrDestination;
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
export function flushLogger(logger: Logger, file?: LogFile): void {
  try {
    logger.flush();
  } catch {
    // A logger that cannot flush must not turn a clean stop into a crash.
  }
  file?.close();
}

/** What /health reports about the log file. */
export interface LogFileStatus {
  status: 'ok' | 'degraded';
  /** The errno code of the failure that paused file logging (ENOSPC, EIO, …). */
  error?: string;
  /** Lines dropped while file logging was paused. */
  dropped_lines: number;
}

export interface LogFileOptions {
  /** Rotate (to `<file>.1`, replacing it) once the file passes this size. */
  maxBytes: number;
  /** A single record longer than this is replaced by a short note (what one request can add is capped). */
  maxLineBytes: number;
  /** Called once when file logging pauses and once when it resumes (the runtime writes it to stderr). */
  onNotice: (message: string) => void;
}

const FLUSH_AT_BYTES = 64 * 1024;
/** Lines held while a flush is pending; beyond it new lines are dropped and counted. */
const MAX_PENDING_BYTES = 1024 * 1024;
/** After a write error, try again at most this often (writes resume by themselves when space returns). */
const RETRY_MS = 1000;

// O_NOFOLLOW: a symlink planted at .lookout/lookout.log (say, in a cloned repository)
// must never make Lookout append to the file it points at.
const OPEN_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW;

/**
 * The pino destination for `.lookout/lookout.log`. It replaces pino's own file stream
 * (sonic-boom) because that one turns a write error (a full disk) into an uncaught
 * exception and a flush that retries forever. Here a write error never throws: file
 * logging pauses (said once), lines are dropped and counted, and it resumes by itself.
 * It also rotates by size while running and refuses to follow a symlink.
 */
export class LogFile {
  readonly #file: string;
  readonly #options: LogFileOptions;
  #fd: number | undefined;
  #size = 0;
  #pending: string[] = [];
  #pendingBytes = 0;
  #scheduled = false;
  #error: string | undefined;
  #retryAt = 0;
  #dropped = 0;
  #closed = false;

  /** Opens (creating 0600) the file; throws if it is a symlink or not a regular file. */
  constructor(file: string, options: LogFileOptions) {
    this.#file = file;
    this.#options = options;
    this.#open();
  }

  status(): LogFileStatus {
    return this.#error
      ? { status: 'degraded', error: this.#error, dropped_lines: this.#dropped }
      : { status: 'ok', dropped_lines: this.#dropped };
  }

  /** pino calls this with one serialized record (ending in a newline). */
  write(line: string): boolean {
    if (this.#closed) return true;
    if (Buffer.byteLength(line) > this.#options.maxLineBytes) line = this.#oversized(line);
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      return true;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= FLUSH_AT_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Writes whatever is pending now. Never throws. */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    if (this.#error && Date.now() < this.#retryAt) return this.#drop();
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      if (this.#fd === undefined) this.#open();
      if (this.#size >= this.#options.maxBytes) this.#rotate();
      const buffer = Buffer.from(text);
      let written = 0;
      while (written < buffer.length) written += fs.writeSync(this.#fd!, buffer, written);
      this.#size += buffer.length;
      if (this.#error) this.#resume();
    } catch (error) {
      this.#fail(error, text);
    }
  }

  close(): void {
    this.flush();
    this.#closed = true;
    if (this.#fd !== undefined) {
      try {
        fs.closeSync(this.#fd);
      } catch {
        // Already gone.
      }
      this.#fd = undefined;
    }
  }

  #open(): void {
    const fd = fs.openSync(this.#file, OPEN_FLAGS, 0o600);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      fs.closeSync(fd);
      throw Object.assign(new Error(`${this.#file} is not a regular file`), { code: 'EINVAL' });
    }
    this.#fd = fd;
    this.#size = stat.size;
  }

  /** lookout.log → lookout.log.1 (replacing the previous one), then a fresh file. */
  #rotate(): void {
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    // rename() replaces a symlink at .1 rather than writing through it.
    fs.renameSync(this.#file, `${this.#file}.1`);
    this.#open();
  }

  #oversized(line: string): string {
    let head: unknown;
    try {
      head = (JSON.parse(line) as { msg?: unknown }).msg;
    } catch {
      head = undefined;
    }
    return `${JSON.stringify({
      level: 40,
      time: new Date().toISOString(),
      pid: process.pid,
      msg: 'log record too large; replaced',
      original_msg: typeof head === 'string' ? head.slice(0, 200) : undefined,
      original_bytes: Buffer.byteLength(line),
    })}\n`;
  }

  #drop(): void {
    this.#dropped += this.#pending.length;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #fail(error: unknown, text: string): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    this.#dropped += text.split('\n').length - 1;
    this.#retryAt = Date.now() + RETRY_MS;
    if (this.#error) return;
    this.#error = code;
    const why = code === 'ENOSPC' ? 'no space left on device' : (error as Error).message;
    this.#options.onNotice(
      `cannot write ${this.#file} (${why}); file logging is paused and resumes by itself when it can (see /health)`,
    );
  }

  #resume(): void {
    const dropped = this.#dropped;
    this.#error = undefined;
    this.#options.onNotice(`writing ${this.#file} again (${dropped} log lines were dropped meanwhile)`);
  }
}
