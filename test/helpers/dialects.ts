import path from 'node:path';
import { afterEach, describe } from 'vitest';
import { openDatabase } from '../../src-main/store/database.ts';
import { PgStore } from '../../src-main/store/postgres/pg-store.ts';
import type { Dialect, SqlStore } from '../../src-main/store/sql-store.ts';
import { SqliteStore } from '../../src-main/store/sqlite/sqlite-store.ts';
import { createTestDatabase, postgresSkipReason } from './postgres.ts';
import { tempWorkspace } from './workspace.ts';

/**
 * Where one test keeps its store: a fresh SQLite file or a fresh PostgreSQL database.
 * `open()` opens (another connection to) that same store, so a test can reopen it,
 * or run two "servers" on it.
 */
export interface StoreFixture {
  readonly dialect: Dialect;
  open(): Promise<SqlStore>;
}

const opened: SqlStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close().catch(() => undefined)));
});

export async function storeFixture(dialect: Dialect): Promise<StoreFixture> {
  if (dialect === 'sqlite') {
    const file = path.join(tempWorkspace(), 'lookout.db');
    return {
      dialect,
      open: async () => {
        const store = new SqliteStore(openDatabase(file));
        opened.push(store);
        return store;
      },
    };
  }
  const database = await createTestDatabase();
  return {
    dialect,
    open: async () => {
      const store = await PgStore.open(database.url);
      opened.push(store);
      return store;
    },
  };
}

/**
 * The same suite against both stores. The PostgreSQL half is skipped, saying why in its
 * name, only where no PostgreSQL can be started.
 */
export function describeEachDialect(name: string, body: (dialect: Dialect) => void): void {
  describe(`${name} [sqlite]`, () => body('sqlite'));
  describe.skipIf(postgresSkipReason)(
    postgresSkipReason ? `${name} [postgres] (skipped: ${postgresSkipReason})` : `${name} [postgres]`,
    () => body('postgres'),
  );
}
