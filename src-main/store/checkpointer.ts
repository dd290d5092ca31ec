import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

// Runs in a worker thread with its own connection. A PASSIVE checkpoint copies WAL
// frames into the database and fsyncs it without taking the writer lock, so appends on
// the main thread go on meanwhile.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 1000');
parentPort.on('message', (message) => {
  if (message === 'checkpoint') {
    try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch { /* retried on the next tick */ }
  } else if (message === 'close') {
    try { db.close(); } catch { /* already closed */ }
    parentPort.close();
  }
});
`;

const INTERVAL_MS = 1000;
/** SQLite's own threshold (1000 pages of 4 KiB): below it no checkpoint is due at all. */
const START_AT_WAL_BYTES = 4 * 1024 * 1024;

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
 * does not pay for a thread. If the worker fails, the automatic checkpoint is switched
 * back on. Once the WAL passes `walMaxBytes` the checkpoint is a TRUNCATE, which
 * resets it: the WAL stays bounded even under a saturating write rate.
 */
export class Checkpointer {
  #file: string;
  #walMaxBytes: number;
  #fallback: () => void;
  #worker: Worker | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #failed = false;

  constructor(file: string, walMaxBytes: number, fallback: () => void) {
    this.#file = file;
    this.#walMaxBytes = walMaxBytes;
    this.#fallback = fallback;
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
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: this.#file, walMaxBytes: this.#walMaxBytes },
    });
    this.#worker.unref();
    this.#worker.on('error', () => this.#fail());
    this.#timer = setInterval(() => {
      if (!this.#dirty) return;
      this.#dirty = false;
      this.#worker?.postMessage('checkpoint');
    }, INTERVAL_MS);
    this.#timer.unref();
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
    if (!worker) return;
    worker.postMessage('close');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 1000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
