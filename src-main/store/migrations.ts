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
  // 4: agents, tasks, their sandboxes and every git operation run for them.
  `
  CREATE TABLE agents (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL,
    command_json    TEXT NOT NULL,
    env_json        TEXT NOT NULL,
    timeout_s       INTEGER,
    provider        TEXT NOT NULL,
    image           TEXT,
    network         INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    status_reason   TEXT,
    current_task_id TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
  ) STRICT;

  CREATE TABLE tasks (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    status            TEXT NOT NULL,
    priority          TEXT NOT NULL,
    base              TEXT NOT NULL,
    base_sha          TEXT,
    git_branch        TEXT,
    assigned_agent_id TEXT,
    sandbox_id        TEXT,
    exit_code         INTEGER,
    reason            TEXT,
    timeout_s         INTEGER,
    -- The running process (its group id is the same): what recovery checks after a crash.
    pid               INTEGER,
    pid_start         TEXT,
    head_sha          TEXT,
    diff_stat_json    TEXT,
    merge_sha         TEXT,
    merged_at         TEXT,
    pull_request_url  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    queued_at         TEXT,
    started_at        TEXT,
    completed_at      TEXT
  ) STRICT;
  CREATE INDEX tasks_status ON tasks (status, created_at);

  CREATE TABLE sandboxes (
    id           TEXT PRIMARY KEY,
    agent_id     TEXT,
    task_id      TEXT,
    provider     TEXT NOT NULL,
    status       TEXT NOT NULL,
    path         TEXT NOT NULL,
    branch_name  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    destroyed_at TEXT
  ) STRICT;
  CREATE INDEX sandboxes_task ON sandboxes (task_id);

  CREATE TABLE git_operations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id        TEXT,
    sandbox_id     TEXT,
    operation_type TEXT NOT NULL,
    status         TEXT NOT NULL,
    commit_sha     TEXT,
    error_message  TEXT,
    duration_ms    INTEGER NOT NULL,
    args_json      TEXT NOT NULL,
    created_at     TEXT NOT NULL
  ) STRICT;
  CREATE INDEX git_operations_task ON git_operations (task_id, id);
  `,
  // 5: access — users, and refresh-token families (rotated on every use; hashes only).
  `
  CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE, -- NFC + lower case: one name however it is typed
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash   TEXT NOT NULL,        -- scrypt$N$r$p$salt$hash
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_sign_in_at TEXT,
    disabled_at     TEXT
  ) STRICT;

  -- A family is one sign-in: every refresh rotates its token, and a token used twice
  -- revokes the whole family (someone else holds a copy).
  CREATE TABLE refresh_families (
    id             TEXT PRIMARY KEY,
    subject        TEXT NOT NULL,         -- 'owner' or a user id
    created_at     TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
  ) STRICT;
  CREATE INDEX refresh_families_subject ON refresh_families (subject);

  CREATE TABLE refresh_tokens (
    token_hash    TEXT PRIMARY KEY,       -- sha256 of the cookie's value
    binding_hash  TEXT NOT NULL,          -- sha256 of the page's refresh_binding
    family_id     TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
  ) STRICT;
  CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
  `,
  // 6: knowledge — documents, their chunks, and an FTS5 index over the chunks. The index is
  // external-content (content='knowledge_chunks'): the text is stored once, in the chunks
  // table, which snippet() reads back; triggers keep the index in step with every insert,
  // update and delete, so no code path can forget to. 'porter unicode61 remove_diacritics 2'
  // folds case and accents and stems English ("installing" finds "install").
  `
  CREATE TABLE knowledge_documents (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    source      TEXT UNIQUE,              -- adding the same source again replaces the document
    tags_json   TEXT NOT NULL,
    text        TEXT NOT NULL,            -- as added; chunks are derived from it
    bytes       INTEGER NOT NULL,         -- UTF-8 length of text
    chunk_count INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
  ) STRICT;
  CREATE INDEX knowledge_documents_created ON knowledge_documents (created_at, id);

  -- The title is repeated on each chunk because an FTS5 content table must hold every
  -- indexed column; a document's title only changes when its chunks are rewritten anyway.
  CREATE TABLE knowledge_chunks (
    rowid       INTEGER PRIMARY KEY,      -- the FTS5 rowid
    id          TEXT NOT NULL UNIQUE,
    document_id TEXT NOT NULL REFERENCES knowledge_documents (id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    title       TEXT NOT NULL,
    heading     TEXT NOT NULL,            -- heading path, 'Install › Linux'
    body        TEXT NOT NULL,
    UNIQUE (document_id, idx)
  ) STRICT;

  CREATE VIRTUAL TABLE knowledge_fts USING fts5(
    title, heading, body,
    content = 'knowledge_chunks', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER knowledge_chunks_ai AFTER INSERT ON knowledge_chunks BEGIN
    INSERT INTO knowledge_fts (rowid, title, heading, body) VALUES (new.rowid, new.title, new.heading, new.body);
  END;
  CREATE TRIGGER knowledge_chunks_ad AFTER DELETE ON knowledge_chunks BEGIN
    INSERT INTO knowledge_fts (knowledge_fts, rowid, title, heading, body)
      VALUES ('delete', old.rowid, old.title, old.heading, old.body);
  END;
  CREATE TRIGGER knowledge_chunks_au AFTER UPDATE ON knowledge_chunks BEGIN
    INSERT INTO knowledge_fts (knowledge_fts, rowid, title, heading, body)
      VALUES ('delete', old.rowid, old.title, old.heading, old.body);
    INSERT INTO knowledge_fts (rowid, title, heading, body) VALUES (new.rowid, new.title, new.heading, new.body);
  END;
  `,
  // 7: agents may speak through an OpenAI-compatible model; discussions, their
  // participants (in speaking order) and messages (one turn each).
  `
  ALTER TABLE agents ADD COLUMN model_json TEXT; -- {base_url, model, api_key_env?, …}: a key's NAME, never its value

  CREATE TABLE discussions (
    id            TEXT PRIMARY KEY,
    topic         TEXT NOT NULL,
    context       TEXT NOT NULL,
    strategy      TEXT NOT NULL,
    moderator     TEXT,
    status        TEXT NOT NULL,
    status_reason TEXT,
    current_turn  INTEGER NOT NULL DEFAULT 0,
    next_speaker  TEXT,
    max_turns     INTEGER NOT NULL,
    document_ids_json TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    completed_at  TEXT
  ) STRICT;
  CREATE INDEX discussions_status ON discussions (status, created_at);

  CREATE TABLE discussion_participants (
    discussion_id TEXT NOT NULL REFERENCES discussions (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    agent_id      TEXT NOT NULL,
    name          TEXT NOT NULL, -- as it was when it last spoke: the transcript survives the agent's removal
    PRIMARY KEY (discussion_id, position),
    UNIQUE (discussion_id, agent_id)
  ) STRICT;

  -- seq orders messages (and is the paging cursor's position); turn is what people see.
  CREATE TABLE discussion_messages (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    discussion_id  TEXT NOT NULL REFERENCES discussions (id) ON DELETE CASCADE,
    author         TEXT NOT NULL,
    author_name    TEXT NOT NULL,
    author_kind    TEXT NOT NULL CHECK (author_kind IN ('user', 'agent')),
    content        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'failed')),
    error          TEXT,
    truncated      INTEGER NOT NULL DEFAULT 0,
    turn           INTEGER NOT NULL,
    citations_json TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    completed_at   TEXT
  ) STRICT;
  CREATE INDEX discussion_messages_discussion ON discussion_messages (discussion_id, seq);
  CREATE INDEX discussion_messages_streaming ON discussion_messages (status) WHERE status = 'streaming';
  `,
  // 8: team mode (several servers on one store) for tasks and access. `runner` names the
  // server that runs a task and holds its worktree; a cancel asked on another server is
  // recorded for the runner to act on; a user's tokens issued before tokens_valid_from_ms
  // no longer count (a role or password change, on any server); one-use secrets (sign-in
  // codes, stream tickets) and the token signing key live here when servers share them.
  `
  ALTER TABLE tasks ADD COLUMN runner TEXT;
  ALTER TABLE tasks ADD COLUMN cancel_requested_at TEXT;
  CREATE INDEX tasks_runner ON tasks (runner, status);
  ALTER TABLE sandboxes ADD COLUMN runner TEXT;
  ALTER TABLE users ADD COLUMN tokens_valid_from_ms INTEGER NOT NULL DEFAULT 0;

  CREATE TABLE single_use_secrets (
    hash          TEXT PRIMARY KEY,  -- sha256 of the secret: the secret itself is never stored
    kind          TEXT NOT NULL,     -- 'code' or 'ticket'
    value_json    TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX single_use_secrets_expiry ON single_use_secrets (expires_at_ms);

  -- The HS256 key of access tokens when servers share the store (a single server keeps it
  -- in .lookout/signing.key). The highest generation signs; tokens name it as their kid.
  CREATE TABLE signing_keys (
    generation INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  `,
  // 9: team mode — server leases (runner liveness) and shared rate limits. A server's
  // running tasks carry the lease it heartbeats; a lease that runs out lets another server
  // settle them. The leases and the rate-limit counters are used on PostgreSQL only (one
  // SQLite server needs no lease and keeps its limits in memory); the tables exist here too
  // so both schemas stay one.
  `
  ALTER TABLE tasks ADD COLUMN lease_id TEXT;
  CREATE INDEX tasks_lease ON tasks (lease_id) WHERE status = 'running';

  CREATE TABLE server_leases (
    id            TEXT PRIMARY KEY, -- random per server incarnation
    holder        TEXT NOT NULL,    -- the runner id: <host name>:<workspace>
    pid           INTEGER NOT NULL,
    acquired_at   TEXT NOT NULL,
    renewed_at    TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL  -- by the database's clock
  ) STRICT;

  CREATE TABLE rate_buckets (
    key    TEXT PRIMARY KEY,        -- the principal's id
    tokens REAL NOT NULL,
    at_ms  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE sign_in_failures (
    key              TEXT PRIMARY KEY, -- name:… or addr:…
    count            INTEGER NOT NULL,
    last_ms          INTEGER NOT NULL,
    blocked_until_ms INTEGER NOT NULL
  ) STRICT;
  `,
  // 10: knowledge on PostgreSQL (team mode: one knowledge base for every server). SQLite
  // keeps the tables and FTS5 index of migration 6 as they are: nothing to do here.
  `SELECT 1;`,
  // 11: state rows carry a version, bumped by every write, so several servers on one store
  // write a section by compare-and-set (no lost update) and a cache never goes backwards.
  // The table is rebuilt rather than altered: SQLite has no ADD COLUMN IF NOT EXISTS, and
  // a store whose version was set back by hand must still migrate.
  `
  CREATE TABLE state_versioned (
    section    TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  INSERT INTO state_versioned (section, json, updated_at) SELECT section, json, updated_at FROM state;
  DROP TABLE state;
  ALTER TABLE state_versioned RENAME TO state;
  `,
  // 12: discussions driven by one server at a time (team mode). `driver` is the runner id
  // of the server taking a discussion's turns and `driver_until_ms` when its lease ends
  // (renewed while it lives; another server takes over once it lapses); `turn_due` says
  // the turn logic owes a run ('next', or 'resume' after a resume or a takeover), so a
  // message posted on any server reaches the driver through the row, not only through an
  // event it might miss. A single server is always its discussions' driver.
  `
  ALTER TABLE discussions ADD COLUMN driver TEXT;
  ALTER TABLE discussions ADD COLUMN driver_until_ms INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE discussions ADD COLUMN turn_due TEXT;
  CREATE INDEX discussions_driver ON discussions (driver, status);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
