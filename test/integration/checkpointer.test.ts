import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { Checkpointer } from '../../src-main/store/checkpointer.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const MiB = 1024 * 1024;
const walSize = (file: string) => fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;

/** Polls until `done()` holds; fails with `what` after the deadline. */
async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A WAL database as openDatabase makes it: automatic checkpoints off, the worker's job. */
function walDatabase(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA busy_timeout = 5000'); // a write may meet the worker's TRUNCATE, as in openDatabase
  db.exec('PRAGMA wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)');
  return db;
}

/** Commits about `mib` MiB in transactions of 64 rows, telling the checkpointer after each; returns the rows. */
function write(db: DatabaseSync, checkpointer: Checkpointer, mib: number): number {
  const insert = db.prepare('INSERT INTO t (payload) VALUES (?)');
  const payload = 'x'.repeat(4000);
  let rows = 0;
  for (let done = 0; done < mib * MiB; done += 64 * payload.length) {
    db.exec('BEGIN');
    for (let i = 0; i < 64; i++) insert.run(payload);
    db.exec('COMMIT');
    rows += 64;
    checkpointer.noteWrite();
  }
  return rows;
}

// Issue 19 (memory): the checkpoint worker is a whole V8 isolate, started only when the
// WAL needs checkpoints and ended once writes stop.
describe('the checkpoint worker', () => {
  it('starts when the WAL reaches 4 MiB, resets the WAL and exits once idle, and starts again for the next burst', async () => {
    const file = path.join(tempWorkspace(), 'lookout.db');
    const db = walDatabase(file);
    let fellBack = false;
    const checkpointer = new Checkpointer(file, 64 * MiB, () => (fellBack = true), { idleExitMs: 300 });

    let rows = write(db, checkpointer, 1);
    expect(checkpointer.running).toBe(false); // a small WAL: no thread
    rows += write(db, checkpointer, 4);
    expect(checkpointer.running).toBe(true);

    // No more writes: the worker truncates the WAL and ends.
    await until('the worker retired', () => !checkpointer.running);
    await until('the WAL was reset', () => walSize(file) === 0);
    rows += write(db, checkpointer, 0.1);
    expect(checkpointer.running).toBe(false); // the WAL starts small again

    rows += write(db, checkpointer, 5);
    expect(checkpointer.running).toBe(true);
    await checkpointer.close();
    expect(checkpointer.running).toBe(false);
    expect(fellBack).toBe(false);
    // Every committed row is there, in a sound file.
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: rows });
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    db.close();
  }, 60_000);

  it('retires without waiting when a reader keeps the WAL busy, and starts again at the next write', async () => {
    const file = path.join(tempWorkspace(), 'lookout.db');
    const db = walDatabase(file);
    const checkpointer = new Checkpointer(file, 64 * MiB, () => undefined, { idleExitMs: 300 });
    let rows = write(db, checkpointer, 5);
    expect(checkpointer.running).toBe(true);
    // Another connection holds a read snapshot: the retiring worker's TRUNCATE cannot reset the WAL.
    const reader = new DatabaseSync(file);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM t').get();
    await until('the worker retired', () => !checkpointer.running);
    expect(walSize(file)).toBeGreaterThan(4 * MiB); // left as it was
    rows += write(db, checkpointer, 0.1); // the writer is not held up: no busy timeout ran out
    expect(checkpointer.running).toBe(true); // the WAL is still large: a new worker
    reader.exec('COMMIT');
    reader.close();
    await checkpointer.close();
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: rows });
    db.close();
  }, 60_000);

  it('switches automatic checkpoints back on when the worker cannot open the database', async () => {
    const dir = tempWorkspace();
    // A "database" SQLite cannot open (a directory) beside a WAL big enough to start the worker.
    const file = path.join(dir, 'not-a-database');
    fs.mkdirSync(file);
    fs.writeFileSync(`${file}-wal`, Buffer.alloc(5 * MiB));
    let fellBack = 0;
    const checkpointer = new Checkpointer(file, 64 * MiB, () => fellBack++, { idleExitMs: 300 });
    checkpointer.noteWrite();
    await until('the fallback ran', () => fellBack === 1);
    expect(checkpointer.running).toBe(false);
    checkpointer.noteWrite(); // a failed worker is not started again
    expect(checkpointer.running).toBe(false);
    await checkpointer.close();
    expect(fellBack).toBe(1);
  });
});
