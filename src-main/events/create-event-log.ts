import type { Logger } from '../logger.ts';
import { PgStore } from '../store/postgres/pg-store.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { EventLog } from './event-log.ts';
import { PgEventLog } from './pg-event-log.ts';
import { SqliteEventLog } from './sqlite-event-log.ts';

/** The event log of a store's dialect (not started: the bus registers its feed first). */
export function createEventLog(store: SqlStore, options: { logger: Logger; maxEvents?: number }): EventLog {
  if (store instanceof PgStore) return new PgEventLog(store, options);
  if (store instanceof SqliteStore) return new SqliteEventLog(store, { maxEvents: options.maxEvents });
  throw new Error(`no event log for a ${store.dialect} store of this kind`);
}
