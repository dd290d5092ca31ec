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

/**
 * Keeps WAL checkpoints (and their fsync) off the event loop. SQLite's automatic
 * checkpoint runs inside whichever COMMIT crosses the threshold, which stalls every
 * live client behind one disk flush; instead the main connection turns it off and this
 * worker checkpoints once a second while there are new writes. It starts once the WAL
 * reaches the size at which SQLite itself would first checkpoint, so a quiet server
 * does not pay for a thread. If the worker fails, the automatic checkpoint is switched
 * back on: the WAL never grows without bound.
 */
export class Checkpointer {
  #file: string;
  #fallback: () => void;
  #worker: Worker | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #failed = false;

  constructor(file: string, fallback: () => void) {
    this.#file = file;
    this.#fallback = fallback;
  }

  /** Called after each committed write. */
  noteWrite(): void {
    this.#dirty = true;
    if (this.#worker || this.#failed) return;
    let walBytes = 0;
    try {
      walBytes = fs.statSync(`${this.#file}-wal`).size;
    } catch {
      // No WAL file yet.
    }
    if (walBytes < START_AT_WAL_BYTES) return;
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file: this.#file } });
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
