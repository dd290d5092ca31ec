import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { EventBus } from '../../src-main/events/bus.ts';
import { EventLog } from '../../src-main/events/event-log.ts';
import { createLogger } from '../../src-main/logger.ts';
import { openDatabase } from '../../src-main/store/database.ts';
import { PgStore } from '../../src-main/store/postgres/pg-store.ts';
import type { Dialect, SqlStore } from '../../src-main/store/sql-store.ts';
import { SqliteStore } from '../../src-main/store/sqlite/sqlite-store.ts';
import { createTestDatabase, postgresSkipReason } from './postgres.ts';

/** Both dialects, for `describe.each`: PostgreSQL is skipped (saying why) where none is at hand. */
export const DIALECTS: { dialect: Dialect; skip: string | undefined }[] = [
  { dialect: 'sqlite', skip: undefined },
  { dialect: 'postgres', skip: postgresSkipReason },
];

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close().catch(() => undefined)));
});

/**
 * A fresh, migrated store of `dialect`: a SQLite file in a temporary directory, or a new
 * empty PostgreSQL database. `url` (PostgreSQL) opens a second store on the same database,
 * as a second server would. Closed after the test.
 */
export async function openTestStore(dialect: Dialect): Promise<{ store: SqlStore; url?: string }> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-store-'));
    const store = new SqliteStore(openDatabase(path.join(dir, 'lookout.db')));
    open.push({ close: () => store.close() });
    return { store };
  }
  const { url } = await createTestDatabase();
  return { store: await openPgStore(url), url };
}

/** Another connection pool on the same PostgreSQL database (another server), closed after the test. */
export async function openPgStore(url: string): Promise<SqlStore> {
  const store = await PgStore.open(url, { poolSize: 4 });
  open.push(store);
  return store;
}

/** A bus for services under test (its own in-memory history: the events are not the subject here). */
export function testBus(): EventBus {
  const database = openDatabase(':memory:');
  open.push({ close: () => database.close() });
  return new EventBus({ log: new EventLog(database), logger: createLogger({ level: 'silent' }), queueSize: 1000 });
}
