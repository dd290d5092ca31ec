import type {
  AuthorKind,
  Citation,
  DiscussionStatus,
  DiscussionStrategy,
  Message,
  MessageStatus,
} from '../../src-shared/discussions.ts';
import type { SqlExecutor, SqlStore, SqlValue } from '../store/sql-store.ts';

/**
 * The discussions domain's SQL, and nothing else: rows in, rows out, on either store
 * (SQLite for one user, PostgreSQL in team mode). The service holds the rules. Every
 * method takes an optional executor, so the service can group writes in one transaction.
 */

/** What the turn logic owes a discussion: a run after a message, or a resume (no failing-streak pause). */
export type TurnDue = 'next' | 'resume';

export interface DiscussionRow {
  id: string;
  topic: string;
  context: string;
  strategy: DiscussionStrategy;
  moderator: string | null;
  status: DiscussionStatus;
  status_reason: string | null;
  current_turn: number;
  next_speaker: string | null;
  max_turns: number;
  document_ids: string[];
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** The runner id of the server taking its turns (see DiscussionService, "Driving"). */
  driver: string | null;
  /** When the driver's lease lapses (the database's clock, ms). */
  driver_until_ms: number;
  turn_due: TurnDue | null;
  /** Whether one of its messages is streaming now (a reply in flight, on whichever server). */
  speaking: boolean;
  message_count: number;
}

export interface ParticipantRow {
  agent_id: string;
  name: string;
  position: number;
}

interface StoredDiscussion extends Omit<DiscussionRow, 'document_ids' | 'speaking'> {
  document_ids_json: string;
  speaking: number;
}

interface StoredMessage {
  seq: number;
  id: string;
  discussion_id: string;
  author: string;
  author_name: string;
  author_kind: string;
  content: string;
  status: string;
  error: string | null;
  truncated: number;
  turn: number;
  citations_json: string;
  created_at: string;
  completed_at: string | null;
}

export type NewMessage = Omit<Message, 'truncated'>;

type Updatable = Pick<
  DiscussionRow,
  'status' | 'status_reason' | 'current_turn' | 'next_speaker' | 'completed_at' | 'updated_at' | 'turn_due'
>;

const toDiscussion = ({ document_ids_json, speaking, ...row }: StoredDiscussion): DiscussionRow => ({
  ...row,
  document_ids: JSON.parse(document_ids_json) as string[],
  speaking: Number(speaking) === 1,
  message_count: Number(row.message_count),
});

const toMessage = (row: StoredMessage): Message => ({
  id: row.id,
  discussion_id: row.discussion_id,
  author: row.author,
  author_name: row.author_name,
  author_kind: row.author_kind as AuthorKind,
  content: row.content,
  status: row.status as MessageStatus,
  error: row.error,
  truncated: Number(row.truncated) === 1,
  turn: row.turn,
  citations: JSON.parse(row.citations_json) as Citation[],
  created_at: row.created_at,
  completed_at: row.completed_at,
});

/** A discussion with what its view needs from its messages, in one statement. */
const SELECT_DISCUSSION = `SELECT d.*,
  (SELECT count(*) FROM discussion_messages m WHERE m.discussion_id = d.id) AS message_count,
  CASE WHEN EXISTS (SELECT 1 FROM discussion_messages m WHERE m.discussion_id = d.id AND m.status = 'streaming')
    THEN 1 ELSE 0 END AS speaking
  FROM discussions d`;

export class DiscussionStore {
  readonly #store: SqlStore;

  constructor(store: SqlStore) {
    this.#store = store;
  }

  get shared(): boolean {
    return this.#store.dialect === 'postgres';
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#store.transaction(fn);
  }

  /** The database's clock in ms: leases are compared on one clock, whatever the servers' clocks say. */
  get #nowMs(): string {
    return this.shared
      ? '(extract(epoch from clock_timestamp()) * 1000)::bigint'
      : "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
  }

  async insert(row: DiscussionRow, participants: readonly ParticipantRow[], leaseMs: number): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO discussions (id, topic, context, strategy, moderator, status, status_reason, current_turn,
           next_speaker, max_turns, document_ids_json, created_at, updated_at, completed_at, driver, driver_until_ms,
           turn_due)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${this.#nowMs} + ?, ?)`,
        [
          row.id,
          row.topic,
          row.context,
          row.strategy,
          row.moderator,
          row.status,
          row.status_reason,
          row.current_turn,
          row.next_speaker,
          row.max_turns,
          JSON.stringify(row.document_ids),
          row.created_at,
          row.updated_at,
          row.completed_at,
          row.driver,
          leaseMs,
          row.turn_due,
        ],
      );
      for (const p of participants)
        await tx.run(
          'INSERT INTO discussion_participants (discussion_id, position, agent_id, name) VALUES (?, ?, ?, ?)',
          [row.id, p.position, p.agent_id, p.name],
        );
    });
  }

  async find(id: string, tx: SqlExecutor = this.#store): Promise<DiscussionRow | undefined> {
    const row = await tx.get<StoredDiscussion>(`${SELECT_DISCUSSION} WHERE d.id = ?`, [id]);
    return row ? toDiscussion(row) : undefined;
  }

  /**
   * The discussion's row, locked until the transaction ends (PostgreSQL: FOR UPDATE; a
   * SQLite transaction is the only writer anyway): the read-decide-write steps of posting,
   * pausing and turn-taking do not interleave, on one server or several.
   */
  async lock(tx: SqlExecutor, id: string): Promise<DiscussionRow | undefined> {
    if (this.shared) await tx.get('SELECT id FROM discussions WHERE id = ? FOR UPDATE', [id]);
    return this.find(id, tx);
  }

  async list(status?: DiscussionStatus): Promise<DiscussionRow[]> {
    const rows =
      status === undefined
        ? await this.#store.all<StoredDiscussion>(`${SELECT_DISCUSSION} ORDER BY d.created_at DESC, d.id`)
        : await this.#store.all<StoredDiscussion>(
            `${SELECT_DISCUSSION} WHERE d.status = ? ORDER BY d.created_at DESC, d.id`,
            [status],
          );
    return rows.map(toDiscussion);
  }

  async update(id: string, fields: Partial<Updatable>, tx: SqlExecutor = this.#store): Promise<void> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    // Column names come from the typed keys above, never from input.
    await tx.run(`UPDATE discussions SET ${entries.map(([key]) => `${key} = ?`).join(', ')} WHERE id = ?`, [
      ...entries.map(([, value]) => value as SqlValue),
      id,
    ]);
  }

  // -- Driving: one server takes a discussion's turns at a time ----------------------

  /**
   * Makes `runner` the driver of the discussion if nobody else holds a live lease (or if
   * `force`: a server's restart settles its own and, alone on SQLite, everything). True
   * when `runner` drives it now.
   */
  async claim(tx: SqlExecutor, id: string, runner: string, leaseMs: number, force = false): Promise<boolean> {
    const { changes } = await tx.run(
      `UPDATE discussions SET driver = ?, driver_until_ms = ${this.#nowMs} + ?
       WHERE id = ?${force ? '' : ` AND (driver IS NULL OR driver = ? OR driver_until_ms < ${this.#nowMs})`}`,
      force ? [runner, leaseMs, id] : [runner, leaseMs, id, runner],
    );
    return changes === 1;
  }

  /** Extends the lease on every open discussion `runner` drives; the ids it no longer drives are the caller's to drop. */
  async renew(runner: string, leaseMs: number): Promise<string[]> {
    await this.#store.run(
      `UPDATE discussions SET driver_until_ms = ${this.#nowMs} + ? WHERE driver = ? AND status <> 'completed'`,
      [leaseMs, runner],
    );
    return (
      await this.#store.all<{ id: string }>("SELECT id FROM discussions WHERE driver = ? AND status <> 'completed'", [
        runner,
      ])
    ).map((r) => r.id);
  }

  /**
   * Open discussions whose driver's lease lapsed (or that never had one), at most
   * `limit`; on PostgreSQL the rows stay locked (SKIP LOCKED: servers sweeping at once
   * each take different ones) until `tx` ends.
   */
  async orphans(tx: SqlExecutor, limit: number): Promise<string[]> {
    const rows = await tx.all<{ id: string }>(
      `SELECT id FROM discussions WHERE status <> 'completed' AND (driver IS NULL OR driver_until_ms < ${this.#nowMs})
       ORDER BY updated_at LIMIT ?${this.shared ? ' FOR UPDATE SKIP LOCKED' : ''}`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Open discussions a server drives (its own, on a restart), or every open one. */
  async openIds(driver?: string): Promise<string[]> {
    const rows =
      driver === undefined
        ? await this.#store.all<{ id: string }>(
            "SELECT id FROM discussions WHERE status <> 'completed' ORDER BY created_at",
          )
        : await this.#store.all<{ id: string }>(
            "SELECT id FROM discussions WHERE status <> 'completed' AND driver = ? ORDER BY created_at",
            [driver],
          );
    return rows.map((r) => r.id);
  }

  /** Who drives these discussions, and their status (a driver checking on its replies in flight). */
  async drivers(ids: readonly string[]): Promise<{ id: string; driver: string | null; status: DiscussionStatus }[]> {
    if (ids.length === 0) return [];
    return this.#store.all(
      `SELECT id, driver, status FROM discussions WHERE id IN (${ids.map(() => '?').join(', ')})`,
      [...ids],
    );
  }

  /** Discussions `driver` drives that hold a streaming message other than `inFlight` (its own replies now). */
  async strandedBy(driver: string, inFlight: readonly string[]): Promise<string[]> {
    const rows = await this.#store.all<{ discussion_id: string; id: string }>(
      `SELECT m.discussion_id, m.id FROM discussion_messages m JOIN discussions d ON d.id = m.discussion_id
       WHERE m.status = 'streaming' AND d.driver = ?`,
      [driver],
    );
    return [...new Set(rows.filter((r) => !inFlight.includes(r.id)).map((r) => r.discussion_id))];
  }

  /** Ends `driver`'s leases now (a clean stop): other servers take its discussions at their next tick. */
  async release(driver: string): Promise<void> {
    await this.#store.run("UPDATE discussions SET driver_until_ms = 0 WHERE driver = ? AND status <> 'completed'", [
      driver,
    ]);
  }

  /** Clears what the turn logic owed, if nothing was said since (the turn it was owed at). */
  async clearDue(id: string, due: TurnDue, turn: number): Promise<void> {
    await this.#store.run('UPDATE discussions SET turn_due = NULL WHERE id = ? AND turn_due = ? AND current_turn = ?', [
      id,
      due,
      turn,
    ]);
  }

  /** Active discussions `driver` drives whose turn logic owes a run. */
  async due(driver: string): Promise<string[]> {
    const rows = await this.#store.all<{ id: string }>(
      "SELECT id FROM discussions WHERE driver = ? AND status = 'active' AND turn_due IS NOT NULL",
      [driver],
    );
    return rows.map((r) => r.id);
  }

  // -- Participants and messages ------------------------------------------------------

  async participants(discussionId: string, tx: SqlExecutor = this.#store): Promise<ParticipantRow[]> {
    return tx.all<ParticipantRow>(
      'SELECT agent_id, name, position FROM discussion_participants WHERE discussion_id = ? ORDER BY position',
      [discussionId],
    );
  }

  async renameParticipant(discussionId: string, agentId: string, name: string): Promise<void> {
    await this.#store.run(
      'UPDATE discussion_participants SET name = ? WHERE discussion_id = ? AND agent_id = ? AND name <> ?',
      [name, discussionId, agentId, name],
    );
  }

  async insertMessage(message: NewMessage, tx: SqlExecutor = this.#store): Promise<void> {
    await tx.run(
      `INSERT INTO discussion_messages (id, discussion_id, author, author_name, author_kind, content, status, error,
         truncated, turn, citations_json, created_at, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      [
        message.id,
        message.discussion_id,
        message.author,
        message.author_name,
        message.author_kind,
        message.content,
        message.status,
        message.error,
        message.turn,
        JSON.stringify(message.citations),
        message.created_at,
        message.completed_at,
      ],
    );
  }

  /** Saves what has streamed so far (so a crash keeps it), while the message is still streaming. */
  async saveContent(id: string, content: string): Promise<void> {
    await this.#store.run("UPDATE discussion_messages SET content = ? WHERE id = ? AND status = 'streaming'", [
      content,
      id,
    ]);
  }

  /**
   * Ends a streaming message; false when it was no longer streaming (a server that took
   * the discussion over settled it first).
   */
  async finishMessage(
    id: string,
    fields: { content: string; status: 'complete' | 'failed'; error: string | null; truncated: boolean; at: string },
    tx: SqlExecutor = this.#store,
  ): Promise<boolean> {
    const { changes } = await tx.run(
      `UPDATE discussion_messages SET content = ?, status = ?, error = ?, truncated = ?, completed_at = ?
       WHERE id = ? AND status = 'streaming'`,
      [fields.content, fields.status, fields.error, fields.truncated ? 1 : 0, fields.at, id],
    );
    return changes === 1;
  }

  async message(id: string, tx: SqlExecutor = this.#store): Promise<Message | undefined> {
    const row = await tx.get<StoredMessage>('SELECT * FROM discussion_messages WHERE id = ?', [id]);
    return row ? toMessage(row) : undefined;
  }

  /** Oldest first, after the message at position `afterSeq`, at most `limit`. */
  async messages(discussionId: string, options: { afterSeq?: number; limit: number }): Promise<Message[]> {
    const rows = await this.#store.all<StoredMessage>(
      'SELECT * FROM discussion_messages WHERE discussion_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      [discussionId, options.afterSeq ?? 0, options.limit],
    );
    return rows.map(toMessage);
  }

  /** The newest `limit` messages, oldest first (what a speaker is shown). */
  async recentMessages(discussionId: string, limit: number, tx: SqlExecutor = this.#store): Promise<Message[]> {
    const rows = await tx.all<StoredMessage>(
      'SELECT * FROM discussion_messages WHERE discussion_id = ? ORDER BY seq DESC LIMIT ?',
      [discussionId, limit],
    );
    return rows.reverse().map(toMessage);
  }

  async seqOf(discussionId: string, messageId: string): Promise<number | undefined> {
    const row = await this.#store.get<{ seq: number }>(
      'SELECT seq FROM discussion_messages WHERE discussion_id = ? AND id = ?',
      [discussionId, messageId],
    );
    return row?.seq;
  }

  async streamingMessages(discussionId: string, tx: SqlExecutor = this.#store): Promise<Message[]> {
    const rows = await tx.all<StoredMessage>(
      "SELECT * FROM discussion_messages WHERE discussion_id = ? AND status = 'streaming' ORDER BY seq",
      [discussionId],
    );
    return rows.map(toMessage);
  }
}
