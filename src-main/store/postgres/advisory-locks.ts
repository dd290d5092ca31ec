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
