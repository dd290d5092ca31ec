import type { Logger } from '../logger.ts';
import type { PgStore } from '../store/postgres/pg-store.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { EventLog } from './event-log.ts';
import { PgEventLog } from './pg-event-log.ts';
import { SqliteEventLog } from './sqlite-event-log.ts';

/**
 * The event log of a store's dialect (not started: the bus registers its feed first).
 * Tells the stores apart by dialect, not class: a SQLite-only server never loads `pg`.
 * `maxGroup` bounds the publishes per group commit, on either store.
 */
export function createEventLog(
  store: SqlStore,
  options: { logger: Logger; maxEvents?: number; maxGroup?: number },
): EventLog {
  if (store.dialect === 'postgres') return new PgEventLog(store as PgStore, options);
  if (store instanceof SqliteStore)
    return new SqliteEventLog(store, { maxEvents: options.maxEvents, maxGroup: options.maxGroup });
  throw new Error(`no event log for a ${store.dialect} store of this kind`);
}
