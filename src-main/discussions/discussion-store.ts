import type {
  AuthorKind,
  Citation,
  DiscussionStatus,
  DiscussionStrategy,
  Message,
  MessageStatus,
} from '../../src-shared/discussions.ts';
import type { Database } from '../store/database.ts';

/**
 * The discussions domain's SQL, and nothing else: rows in, rows out. The service holds
 * the rules; keeping every statement here lets the store move to another database
 * without touching them.
 */

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
}

export interface ParticipantRow {
  agent_id: string;
  name: string;
  position: number;
}

interface StoredDiscussion extends Omit<DiscussionRow, 'document_ids'> {
  document_ids_json: string;
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

export interface NewMessage {
  id: string;
  discussion_id: string;
  author: string;
  author_name: string;
  author_kind: AuthorKind;
  content: string;
  status: MessageStatus;
  error: string | null;
  turn: number;
  citations: Citation[];
  created_at: string;
  completed_at: string | null;
}

const toDiscussion = ({ document_ids_json, ...row }: StoredDiscussion): DiscussionRow => ({
  ...row,
  document_ids: JSON.parse(document_ids_json) as string[],
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
  truncated: row.truncated === 1,
  turn: row.turn,
  citations: JSON.parse(row.citations_json) as Citation[],
  created_at: row.created_at,
  completed_at: row.completed_at,
});

export class DiscussionStore {
  #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  insert(row: DiscussionRow, participants: readonly ParticipantRow[]): void {
    const db = this.#db.db;
    this.#db.transaction(() => {
      db.prepare(
        `INSERT INTO discussions (id, topic, context, strategy, moderator, status, status_reason, current_turn,
           next_speaker, max_turns, document_ids_json, created_at, updated_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
      );
      const add = db.prepare(
        'INSERT INTO discussion_participants (discussion_id, position, agent_id, name) VALUES (?, ?, ?, ?)',
      );
      for (const p of participants) add.run(row.id, p.position, p.agent_id, p.name);
    });
  }

  find(id: string): DiscussionRow | undefined {
    const row = this.#db.db.prepare('SELECT * FROM discussions WHERE id = ?').get(id) as StoredDiscussion | undefined;
    return row ? toDiscussion(row) : undefined;
  }

  list(status?: DiscussionStatus): DiscussionRow[] {
    const rows = (status === undefined
      ? this.#db.db.prepare('SELECT * FROM discussions ORDER BY created_at DESC, id').all()
      : this.#db.db
          .prepare('SELECT * FROM discussions WHERE status = ? ORDER BY created_at DESC, id')
          .all(status)) as unknown as StoredDiscussion[];
    return rows.map(toDiscussion);
  }

  idsWithStatus(status: DiscussionStatus): string[] {
    return (
      this.#db.db.prepare('SELECT id FROM discussions WHERE status = ? ORDER BY created_at').all(status) as {
        id: string;
      }[]
    ).map((row) => row.id);
  }

  update(
    id: string,
    fields: Partial<
      Pick<DiscussionRow, 'status' | 'status_reason' | 'current_turn' | 'next_speaker' | 'completed_at' | 'updated_at'>
    >,
  ): void {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    // Column names come from the typed keys above, never from input.
    this.#db.db
      .prepare(`UPDATE discussions SET ${entries.map(([key]) => `${key} = ?`).join(', ')} WHERE id = ?`)
      .run(...entries.map(([, value]) => value as string | number | null), id);
  }

  participants(discussionId: string): ParticipantRow[] {
    return this.#db.db
      .prepare('SELECT agent_id, name, position FROM discussion_participants WHERE discussion_id = ? ORDER BY position')
      .all(discussionId) as unknown as ParticipantRow[];
  }

  renameParticipant(discussionId: string, agentId: string, name: string): void {
    this.#db.db
      .prepare('UPDATE discussion_participants SET name = ? WHERE discussion_id = ? AND agent_id = ? AND name <> ?')
      .run(name, discussionId, agentId, name);
  }

  insertMessage(message: NewMessage): void {
    this.#db.db
      .prepare(
        `INSERT INTO discussion_messages (id, discussion_id, author, author_name, author_kind, content, status, error,
           truncated, turn, citations_json, created_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      )
      .run(
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
      );
  }

  /** Saves what has streamed so far (so a crash keeps it). */
  saveContent(id: string, content: string): void {
    this.#db.db
      .prepare("UPDATE discussion_messages SET content = ? WHERE id = ? AND status = 'streaming'")
      .run(content, id);
  }

  finishMessage(
    id: string,
    fields: { content: string; status: 'complete' | 'failed'; error: string | null; truncated: boolean; at: string },
  ): void {
    this.#db.db
      .prepare(
        'UPDATE discussion_messages SET content = ?, status = ?, error = ?, truncated = ?, completed_at = ? WHERE id = ?',
      )
      .run(fields.content, fields.status, fields.error, fields.truncated ? 1 : 0, fields.at, id);
  }

  message(id: string): Message | undefined {
    const row = this.#db.db.prepare('SELECT * FROM discussion_messages WHERE id = ?').get(id) as
      StoredMessage | undefined;
    return row ? toMessage(row) : undefined;
  }

  /** Oldest first, after the message `after` (by its position), at most `limit`. */
  messages(discussionId: string, options: { afterSeq?: number; limit: number }): Message[] {
    const rows = this.#db.db
      .prepare('SELECT * FROM discussion_messages WHERE discussion_id = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(discussionId, options.afterSeq ?? 0, options.limit) as unknown as StoredMessage[];
    return rows.map(toMessage);
  }

  /** The newest `limit` messages, oldest first (what a speaker is shown). */
  recentMessages(discussionId: string, limit: number): Message[] {
    const rows = this.#db.db
      .prepare('SELECT * FROM discussion_messages WHERE discussion_id = ? ORDER BY seq DESC LIMIT ?')
      .all(discussionId, limit) as unknown as StoredMessage[];
    return rows.reverse().map(toMessage);
  }

  seqOf(discussionId: string, messageId: string): number | undefined {
    const row = this.#db.db
      .prepare('SELECT seq FROM discussion_messages WHERE discussion_id = ? AND id = ?')
      .get(discussionId, messageId) as { seq: number } | undefined;
    return row?.seq;
  }

  messageCount(discussionId: string): number {
    return (
      this.#db.db
        .prepare('SELECT count(*) AS n FROM discussion_messages WHERE discussion_id = ?')
        .get(discussionId) as {
        n: number;
      }
    ).n;
  }

  streamingMessages(): Message[] {
    const rows = this.#db.db
      .prepare("SELECT * FROM discussion_messages WHERE status = 'streaming' ORDER BY seq")
      .all() as unknown as StoredMessage[];
    return rows.map(toMessage);
  }
}
