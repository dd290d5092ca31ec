/**
 * Numbered schema migrations. Entry N (1-based) moves `PRAGMA user_version` from N-1 to
 * N. Never edit a shipped entry: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: store identity and the event log.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  -- The epoch names this store; it changes only if the file is recreated, which tells a
  -- resuming client that its 'since' belongs to another history.
  INSERT INTO meta (key, value) VALUES ('epoch', lower(hex(randomblob(8))));
  INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

  -- AUTOINCREMENT keeps sqlite_sequence, so a number is never reused even after
  -- retention has pruned every row.
  CREATE TABLE events (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    type  TEXT    NOT NULL,
    ts_ms INTEGER NOT NULL,
    json  TEXT    NOT NULL  -- the envelope exactly as it is sent to clients
  );
  CREATE INDEX events_type_seq ON events (type, seq);
  CREATE INDEX events_ts ON events (ts_ms);
  `,
  // 2: the state document, one row per section.
  `
  CREATE TABLE state (
    section    TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  `,
  // 3: every envelope carries metadata ({} when none was sent), also those stored before
  // the rule. json_set appends the key last, where new envelopes have it too.
  `
  UPDATE events SET json = json_set(json, '$.metadata', json('{}'))
  WHERE json_type(json, '$.metadata') IS NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
