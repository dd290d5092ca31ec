/** Advisory locks Lookout takes on PostgreSQL, all in its own namespace (the first key). */
export const LOCK_NAMESPACE = 0x4c6b6f75; // "Lkou"
/** Held while one server migrates the schema (others starting at once wait). */
export const LOCK_MIGRATIONS = 1;
/** The team's workspace lock (session-level, on the holder's own connection). */
export const LOCK_WORKSPACE = 2;
/** Held around each change of the state document (its write and its event), so changes made on several servers are published in the order they were stored. */
export const LOCK_STATE = 3;
/** Held by the server running a collection, so the team runs one at a time. */
export const LOCK_COLLECTION = 4;

/**
 * SQL: is Lookout's advisory lock `key` held by anyone, in this database? (Advisory locks
 * are per database, and `pg_locks` lists every database's; integer-pair keys show as
 * classid/objid with objsubid 2.) Lets a server tell a live holder from a dead one's row
 * without taking the lock itself.
 */
export const advisoryLockHeld = (key: number): string =>
  `EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid::bigint = ${LOCK_NAMESPACE} AND objid::bigint = ${Math.trunc(key)})`;
