import { DatabaseSync } from 'node:sqlite';
import { StartupError } from '../errors.ts';
import { Checkpointer } from './checkpointer.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';

export interface Database {
  readonly db: DatabaseSync;
  readonly file: string;
  readonly epoch: string;
  readonly schemaVersion: number;
  /** Runs fn in one transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on throw). */
  transaction<T>(fn: () => T): T;
  /** Cheap liveness probe used by /health. */
  ping(): boolean;
  /** Stops the checkpoint worker, folds the WAL back into the file and closes. */
  close(): Promise<void>;
}

function fail(file: string, reason: string, cause?: unknown): never {
  throw new StartupError(
    `the database ${file} cannot be used: ${reason}. Lookout never resets it by itself; ` +
      `move it aside (mv ${file} ${file}.bad) to start with an empty history`,
    { cause },
  );
}

/**
 * Opens (creating if needed) the workspace database: WAL, integrity check, migrations.
 * A corrupt file or one written by a newer Lookout is refused with a clear message.
 */
export function openDatabase(file: string): Database {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
  } catch (error) {
    fail(file, (error as Error).message, error);
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
    if (verdict !== 'ok') fail(file, `integrity check failed (${verdict.slice(0, 200)})`);
  } catch (error) {
    db.close();
    if (error instanceof StartupError) throw error;
    fail(file, `it is corrupt or not a Lookout database (${(error as Error).message})`, error);
  }

  let checkpointer: Checkpointer | undefined;
  const transaction = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      db.exec('COMMIT');
      checkpointer?.noteWrite();
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };

  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (current > SCHEMA_VERSION) {
    db.close();
    fail(
      file,
      `its schema is version ${current}, newer than this Lookout understands (${SCHEMA_VERSION}); upgrade Lookout`,
    );
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    transaction(() => {
      db.exec(MIGRATIONS[version - 1] as string);
      db.exec(`PRAGMA user_version = ${version}`);
    });
  }

  if (file !== ':memory:') {
    db.exec('PRAGMA wal_autocheckpoint = 0');
    checkpointer = new Checkpointer(file, () => db.exec('PRAGMA wal_autocheckpoint = 1000'));
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
