import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

// Runs in a worker thread with its own connection. A PASSIVE checkpoint copies WAL
// frames into the database and fsyncs it without taking the writer lock, so appends on
// the main thread go on meanwhile. On 'retire' (no writes for a while) it resets the WAL
// with a TRUNCATE checkpoint, cheap once the frames are copied, so the next writes start
// from an empty WAL and do not bring the worker straight back; it then exits.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 1000');
parentPort.on('message', (message) => {
  if (message === 'checkpoint') {
    try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch { /* retried on the next tick */ }
    return;
  }
  if (message === 'retire') {
    // A TRUNCATE holds the writer lock while it waits for readers: never wait, so a write
    // arriving meanwhile is held up for the reset alone (milliseconds), not a busy timeout.
    try {
      db.exec('PRAGMA busy_timeout = 0');
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch { /* busy: the WAL stays as it is, and the next write starts a worker again */ }
  }
  if (message === 'retire' || message === 'close') {
    try { db.close(); } catch { /* already closed */ }
    parentPort.close();
  }
});
`;

const INTERVAL_MS = 1000;
/** SQLite's own threshold (1000 pages of 4 KiB): below it no checkpoint is due at all. */
const START_AT_WAL_BYTES = 4 * 1024 * 1024;
/**
 * With no write for this long, the worker resets the WAL and exits: a thread is a whole
 * V8 isolate (~5 MB of RSS given back when it ends, docs/idle-memory.md), and a burst of
 * events is no reason to keep one for good.
 */
const IDLE_EXIT_MS = 10_000;

const walSize = (file: string): number => {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0; // No WAL file yet.
  }
};

/**
 * Keeps WAL checkpoints (and their fsync) off the event loop. SQLite's automatic
 * checkpoint runs inside whichever COMMIT crosses the threshold, which stalls every
 * live client behind one disk flush; instead the main connection turns it off and this
 * worker checkpoints once a second while there are new writes. It starts once the WAL
 * reaches the size at which SQLite itself would first checkpoint, so a quiet server
 * does not pay for a thread, and exits again after `idleExitMs` without writes (having
 * reset the WAL). If the worker fails, the automatic checkpoint is switched back on.
 * Once the WAL passes `walMaxBytes` the checkpoint is a TRUNCATE, which resets it: the
 * WAL stays bounded even under a saturating write rate.
 */
export class Checkpointer {
  #file: string;
  #walMaxBytes: number;
  #fallback: () => void;
  #idleExitMs: number;
  #worker: Worker | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #idleSince = 0;
  #failed = false;
  /** Workers told to retire that have not exited yet (close() waits for them). */
  #retiring = new Set<Promise<void>>();

  constructor(file: string, walMaxBytes: number, fallback: () => void, options: { idleExitMs?: number } = {}) {
    this.#file = file;
    this.#walMaxBytes = walMaxBytes;
    this.#fallback = fallback;
    this.#idleExitMs = options.idleExitMs ?? IDLE_EXIT_MS;
  }

  /** Whether a checkpoint worker is running now (for tests and diagnostics). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /**
   * Called after each committed write, outside any transaction. Returns true when the WAL
   * has passed `walMaxBytes`: the caller then runs a TRUNCATE checkpoint on its own
   * connection. Under a saturating write rate the worker's PASSIVE checkpoints copy the
   * frames but never find a moment to restart the WAL, so it would grow for good; the
   * TRUNCATE (mostly a sync and a reset, the copying is done) bounds it.
   */
  noteWrite(): boolean {
    this.#dirty = true;
    // A stat per commit (about a microsecond): at hundreds of MB/s a timed check would
    // let the WAL run far past the limit between two looks.
    const over = walSize(this.#file) > this.#walMaxBytes;
    this.#ensureWorker();
    return over;
  }

  #ensureWorker(): void {
    if (this.#worker || this.#failed) return;
    if (walSize(this.#file) < Math.min(START_AT_WAL_BYTES, this.#walMaxBytes / 2)) return;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.#file, walMaxBytes: this.#walMaxBytes },
    });
    this.#worker = worker;
    worker.unref();
    worker.on('error', () => {
      // A retired worker that fails on its way out changes nothing; a working one does.
      if (this.#worker === worker) this.#fail();
    });
    this.#idleSince = Date.now();
    this.#timer = setInterval(() => this.#tick(), INTERVAL_MS);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#dirty) {
      this.#dirty = false;
      this.#idleSince = Date.now();
      this.#worker?.postMessage('checkpoint');
      return;
    }
    if (Date.now() - this.#idleSince >= this.#idleExitMs) this.#retire();
  }

  /** Lets the worker reset the WAL and exit; the next write past the threshold starts a new one. */
  #retire(): void {
    const worker = this.#worker;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#worker = undefined;
    if (!worker) return;
    worker.postMessage('retire');
    const exited = ended(worker);
    this.#retiring.add(exited);
    void exited.then(() => this.#retiring.delete(exited));
  }

  #fail(): void {
    this.#failed = true;
    clearInterval(this.#timer);
    this.#worker = undefined;
    try {
      this.#fallback();
    } catch {
      // The main connection is gone too; nothing left to protect.
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker) {
      worker.postMessage('close');
      this.#retiring.add(ended(worker));
    }
    await Promise.all(this.#retiring);
  }
}

/** Resolves once the worker has exited, terminating it if it takes more than a second. */
function ended(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 1000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
