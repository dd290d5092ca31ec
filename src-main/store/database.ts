import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StartupError } from '../errors.ts';
import { Checkpointer } from './checkpointer.ts';
import { planMigrations } from './migrate.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { classifyStorageError } from './storage-errors.ts';

export interface Database {
  readonly db: DatabaseSync;
  readonly file: string;
  readonly epoch: string;
  readonly schemaVersion: number;
  /** Runs fn in one transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on throw). */
  transaction<T>(fn: () => T): T;
  /** To call after a COMMIT made outside transaction(): keeps the WAL bounded (checkpoints when due). */
  afterCommit(): void;
  /** Cheap liveness probe used by /health. */
  ping(): boolean;
  /** Stops the checkpoint worker, folds the WAL back into the file and closes. */
  close(): Promise<void>;
}

/** The database and the two files SQLite keeps beside it: they only ever move together. */
export const databaseFiles = (file: string): string[] => [file, `${file}-wal`, `${file}-shm`];

const DEFAULT_WAL_MAX_BYTES = 64 * 1024 * 1024;

/** Below this much free space, an I/O error at start-up is reported as a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

function diskIsNearlyFull(file: string): boolean {
  try {
    const stat = fs.statfsSync(path.dirname(file));
    return stat.bavail * stat.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

/**
 * One line per cause, each with the fix that cannot lose data: a full disk or an I/O
 * error is never called corruption, and moving a corrupt database always moves its -wal
 * and -shm with it (leaving the WAL behind loses every event still in it).
 */
function fail(file: string, error: unknown, detail?: string): never {
  let fault = classifyStorageError(error);
  if ((fault === 'io' || fault === 'other') && detail === undefined && diskIsNearlyFull(file)) fault = 'full';
  const said = (error as Error)?.message ?? String(error);
  const reason = detail ?? (fault === 'corrupt' ? `it is corrupt (${said})` : said);
  const dir = path.dirname(file);
  const base = path.basename(file);
  let message: string;
  switch (fault) {
    case 'full':
      message =
        `the database ${file} cannot be opened: no space left on device (${reason}). ` +
        `Free some space on the disk holding ${dir} and start again; the database was not changed`;
      break;
    case 'io':
      message =
        `the database ${file} cannot be read: I/O error (${reason}). ` +
        `Check the disk (dmesg) and start again; the files were not changed, do not move or delete them`;
      break;
    case 'permission':
      message =
        `the database ${file} cannot be opened for writing (${reason}); ` +
        `make the files writable by you (chmod 600 ${databaseFiles(file).join(' ')})`;
      break;
    default:
      if (typeof (error as NodeJS.ErrnoException)?.code === 'string' && detail === undefined && fault === 'other') {
        // A file-system error (a missing directory, say) before SQLite read anything.
        message = `the database ${file} cannot be used: ${reason}; check that ${dir} exists and is yours`;
        break;
      }
      message =
        `the database ${file} cannot be used: ${reason}. Lookout never resets it by itself; ` +
        `to start with an empty history, move the database and its -wal and -shm aside together: ` +
        `lookout db set-aside (or: cd ${dir} && for f in ${base} ${base}-wal ${base}-shm; do [ -e "$f" ] && mv "$f" "$f.bad"; done)`;
  }
  throw new StartupError(message, { cause: error });
}

/**
 * Checks the three files before SQLite touches them: none may be a symlink (SQLite
 * follows them), and a database without write permission is refused before SQLite
 * creates a -shm with the same mode that would keep later starts failing. A new
 * database is created 0600 first, so SQLite gives -wal and -shm the same mode.
 */
function prepareFiles(file: string): void {
  for (const name of databaseFiles(file)) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(name);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) {
      throw new StartupError(
        `refusing to open ${name}: it is a symlink, and Lookout never follows links under .lookout/; remove it (rm ${name})`,
      );
    }
    if (!stat.isFile()) throw new StartupError(`refusing to open ${name}: it is not a regular file; remove it`);
    if ((stat.mode & 0o200) === 0) {
      throw new StartupError(
        `the database file ${name} is read-only (mode ${(stat.mode & 0o777).toString(8)}); ` +
          `make it writable by you: chmod 600 ${databaseFiles(file).join(' ')}`,
      );
    }
  }
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600));
  } catch (error) {
    fail(file, error);
  }
}

/** Database files are private like everything else in .lookout/ (0600). */
function restrictModes(file: string): void {
  for (const name of databaseFiles(file)) {
    try {
      fs.chmodSync(name, 0o600);
    } catch {
      // Not created (yet).
    }
  }
}

/**
 * Opens (creating if needed) the workspace database: WAL, integrity check, migrations.
 * A corrupt file or one written by a newer Lookout is refused with a clear message.
 */
export function openDatabase(file: string, options: { walMaxBytes?: number } = {}): Database {
  if (file !== ':memory:') prepareFiles(file);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
  } catch (error) {
    fail(file, error);
  }
  try {
    // WAL + NORMAL: a committed transaction survives the process being killed (the WAL
    // is in the OS page cache); only a power loss can cost the last few commits.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('PRAGMA foreign_keys = ON');
    const check = db.prepare('PRAGMA quick_check').all() as { quick_check: string }[];
    const verdict = check.map((row) => row.quick_check).join('; ');
    if (verdict !== 'ok') fail(file, new Error(verdict), `integrity check failed (${verdict.slice(0, 200)})`);
  } catch (error) {
    db.close();
    if (error instanceof StartupError) throw error;
    const fault = classifyStorageError(error);
    fail(
      file,
      error,
      fault === 'other' ? `it is corrupt or not a Lookout database (${(error as Error).message})` : undefined,
    );
  }
  if (file !== ':memory:') restrictModes(file);

  let checkpointer: Checkpointer | undefined;
  const afterCommit = (): void => {
    if (checkpointer?.noteWrite()) {
      try {
        db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      } catch {
        // Busy or failed: the next commit tries again.
      }
    }
  };
  const transaction = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      afterCommit();
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };

  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  try {
    for (const step of planMigrations('sqlite', current, file)) {
      transaction(() => {
        db.exec(step.sql);
        db.exec(`PRAGMA user_version = ${step.version}`);
      });
    }
  } catch (error) {
    db.close();
    if (error instanceof StartupError) throw error;
    fail(file, error);
  }

  if (file !== ':memory:') {
    const walMaxBytes = options.walMaxBytes ?? DEFAULT_WAL_MAX_BYTES;
    // After a checkpoint resets the WAL, SQLite truncates the file back to this size.
    db.exec(`PRAGMA journal_size_limit = ${walMaxBytes}`);
    db.exec('PRAGMA wal_autocheckpoint = 0');
    checkpointer = new Checkpointer(file, walMaxBytes, () => db.exec('PRAGMA wal_autocheckpoint = 1000'));
  }

  const epoch = (db.prepare(`SELECT value FROM meta WHERE key = 'epoch'`).get() as { value: string }).value;
  const pingStatement = db.prepare('SELECT 1 AS ok');
  let closed = false;

  return {
    db,
    file,
    epoch,
    schemaVersion: SCHEMA_VERSION,
    transaction,
    afterCommit,
    ping: () => {
      if (closed) return false;
      try {
        return (pingStatement.get() as { ok: number }).ok === 1;
      } catch {
        return false;
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await checkpointer?.close();
      try {
        // Fold the WAL back so the file is self-contained when the app is not running.
        db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      } catch {
        // A failed checkpoint only leaves the -wal file behind; the data is intact.
      }
      db.close();
    },
  };
}
