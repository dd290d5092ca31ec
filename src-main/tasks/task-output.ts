import fs from 'node:fs';
import { type Readable, Writable } from 'node:stream';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { MAX_OUTPUT_LINES_PER_EVENT } from '../../src-shared/events.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';

export type OutputStream = 'stdout' | 'stderr';

/** A line longer than this is cut in events (the log keeps it whole). */
export const MAX_EVENT_LINE_CHARS = 4096;
/** A "line" with no newline in sight is written out at this size so memory stays bounded. */
const MAX_PENDING_LINE_BYTES = 1024 * 1024;
/** JSON bytes of lines per event: well under the bus's 64 KiB per event. */
const MAX_EVENT_PAYLOAD = 48 * 1024;
/** Events published per turn of the event loop; the rest wait for the next turn. */
const MAX_EVENTS_PER_TURN = 4;

const NL = 0x0a;

/**
 * One task's output: every byte goes to `.lookout/tasks/<id>.log` (with backpressure on
 * the program's pipes, so a fast writer waits for the disk instead of filling memory),
 * and lines go to the bus as `task.output` events at most every `flushMs`, each line bounded,
 * until the task's event budget is spent; then one marker says where the rest is.
 */
export class TaskOutput {
  readonly file: string;
  #taskId: string;
  #bus: EventBus;
  #logger: Logger;
  #log: Writable;
  #pending: { stream: OutputStream; line: string; size: number }[] = [];
  #budget: number;
  #spent = 0;
  #truncated = false;
  #timer: NodeJS.Timeout | undefined;
  #flushMs: number;
  #lastFlush = 0;
  #closed = false;
  #lines = 0;

  constructor(options: {
    taskId: string;
    file: string;
    bus: EventBus;
    logger: Logger;
    budgetBytes: number;
    flushMs: number;
  }) {
    this.#taskId = options.taskId;
    this.file = options.file;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#budget = options.budgetBytes;
    this.#log = openLog(options.file, (error) =>
      this.#logger.error({ err: error, task: this.#taskId }, 'task log cannot be opened; output goes to events only'),
    );
    this.#log.on('error', (error) => this.#logger.error({ err: error, task: this.#taskId }, 'task log write failed'));
    this.#flushMs = options.flushMs;
  }

  get lineCount(): number {
    return this.#lines;
  }

  /** Consumes both pipes to their end. */
  async consume(stdout: Readable, stderr: Readable): Promise<void> {
    await Promise.all([this.#pump(stdout, 'stdout'), this.#pump(stderr, 'stderr')]);
  }

  /** A line from Lookout itself (why a task ended, …), in the log and the events. */
  note(line: string): void {
    this.#writeLog(Buffer.from(`[lookout] ${line}\n`));
    this.#queue('stderr', `[lookout] ${line}`);
  }

  async #pump(stream: Readable, name: OutputStream): Promise<void> {
    let partial: Buffer[] = [];
    let partialBytes = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        const last = chunk.lastIndexOf(NL);
        if (last === -1) {
          partial.push(chunk);
          partialBytes += chunk.length;
          if (partialBytes >= MAX_PENDING_LINE_BYTES) {
            await this.#writeLines(Buffer.concat([...partial, Buffer.from('\n')]), name);
            partial = [];
            partialBytes = 0;
          }
          continue;
        }
        const complete =
          partial.length === 0 ? chunk.subarray(0, last + 1) : Buffer.concat([...partial, chunk.subarray(0, last + 1)]);
        partial = last + 1 < chunk.length ? [chunk.subarray(last + 1)] : [];
        partialBytes = partial[0]?.length ?? 0;
        await this.#writeLines(complete, name);
      }
    } catch (error) {
      this.#logger.warn({ err: error, task: this.#taskId, stream: name }, 'task output stream failed');
    }
    if (partialBytes > 0) await this.#writeLines(Buffer.concat([...partial, Buffer.from('\n')]), name);
  }

  /** `block` ends with a newline: whole lines only, so stdout and stderr never interleave mid-line. */
  async #writeLines(block: Buffer, stream: OutputStream): Promise<void> {
    if (!this.#writeLog(block)) await this.#drained();
    let start = 0;
    while (start < block.length) {
      const end = block.indexOf(NL, start);
      this.#lines++;
      if (!this.#truncated) {
        let stop = end;
        if (stop > start && block[stop - 1] === 0x0d) stop--; // CRLF
        this.#queue(stream, block.toString('utf8', start, stop));
      }
      start = end + 1;
    }
  }

  /** Resolves when the log can take more, or has failed (disk full): never waits forever, leaves no listener. */
  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const log = this.#log;
      const done = () => {
        log.off('drain', done);
        log.off('close', done);
        log.off('error', done);
        resolve();
      };
      log.on('drain', done);
      log.on('close', done);
      log.on('error', done);
    });
  }

  #writeLog(buffer: Buffer): boolean {
    if (this.#log.destroyed || this.#log.writableEnded) return true;
    return this.#log.write(buffer);
  }

  #queue(stream: OutputStream, raw: string): void {
    if (this.#truncated) return;
    const line =
      raw.length <= MAX_EVENT_LINE_CHARS
        ? raw
        : `${raw.slice(0, MAX_EVENT_LINE_CHARS)} … [line cut: ${raw.length} characters; the whole line is in the log]`;
    const size = Buffer.byteLength(JSON.stringify(line)) + 1;
    if (this.#spent + size > this.#budget) {
      this.#truncated = true;
      this.#pending.push({
        stream: 'stderr',
        line: `[lookout] output past ${this.#budget} bytes is not sent as events; the complete output: GET ${API_PREFIX}/tasks/${this.#taskId}/output or lookout task logs ${this.#taskId}`,
        size: 256,
      });
      return;
    }
    this.#spent += size;
    this.#pending.push({ stream, line, size });
    this.#schedule();
  }

  /**
   * At most one flush per `flushMs`, leading edge: the first line after a quiet spell goes
   * out on the next turn of the event loop (a task's first line is not held back), the
   * lines of a busy stream are gathered into one batch per interval.
   */
  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastFlush + this.#flushMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, wait);
  }

  /**
   * Publishes what is pending: consecutive lines of one stream per event, in order. At
   * most MAX_EVENTS_PER_TURN events per turn of the event loop (each is a synchronous
   * store write), the rest on the next turn, so a flood never holds other clients up
   * for long; `all` (at the end) publishes everything now.
   */
  flush(all = false): void {
    if (this.#pending.length === 0) return;
    this.#lastFlush = performance.now();
    const pending = this.#pending;
    let i = 0;
    let published = 0;
    while (i < pending.length && (all || published < MAX_EVENTS_PER_TURN)) {
      const stream = pending[i]!.stream;
      const lines: string[] = [];
      let bytes = 0;
      while (
        i < pending.length &&
        pending[i]!.stream === stream &&
        lines.length < MAX_OUTPUT_LINES_PER_EVENT &&
        (lines.length === 0 || bytes + pending[i]!.size <= MAX_EVENT_PAYLOAD)
      ) {
        bytes += pending[i]!.size;
        lines.push(pending[i]!.line);
        i++;
      }
      const last = i >= pending.length && this.#truncated;
      published++;
      try {
        this.#bus.emitLater('task.output', {
          task_id: this.#taskId,
          stream,
          lines,
          ...(last ? { truncated: true } : {}),
        });
      } catch (error) {
        this.#logger.error({ err: error, task: this.#taskId }, 'task output event failed');
      }
    }
    this.#pending = pending.slice(i);
    if (this.#pending.length > 0 && this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, 0);
    }
  }

  /** Publishes the rest and closes the log file. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.flush(true);
    if (this.#log.writableEnded) return;
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }
}

/**
 * The task's log, opened with O_NOFOLLOW: a link planted at its name after start-up
 * must not redirect it. If it cannot be opened the task still runs and its output still
 * reaches the events; the log is a sink that keeps nothing.
 */
function openLog(file: string, onError: (error: unknown) => void): Writable {
  const { O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW } = fs.constants;
  try {
    const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600);
    return fs.createWriteStream(file, { fd });
  } catch (error) {
    onError(error);
    return new Writable({ write: (_chunk, _encoding, done) => done() });
  }
}
