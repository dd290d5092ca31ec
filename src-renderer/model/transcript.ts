import type { Citation } from '../../src-shared/discussions.ts';

/**
 * One discussion's transcript as the page shows it: stored messages (from the REST pages
 * and `discussion.message_created`) and replies still streaming in as
 * `discussion.message_delta` events. Pure (no DOM, no timers), fed once per animation
 * frame by the controller, so the subtle parts are unit-tested under Node:
 *
 * - deltas are applied by `index`, in order: one that arrives early waits for the ones
 *   before it, one seen before (a replay after a reconnect, or the tail of history the
 *   page loads) is ignored, so no text is doubled and none skipped;
 * - the stored message finalizes a reply: its `content` replaces what the deltas built,
 *   and later deltas for it (a replay) are ignored;
 * - the REST page and the live stream may arrive in either order: merging is idempotent.
 */

export type MessageStatus = 'complete' | 'streaming' | 'failed';

/** A citation on a message: which document and passage (chunk) the reply drew on. */
export type TranscriptCitation = Citation;

/** The stored message, as the contract lists it (fields beyond these are kept, not read). */
export interface StoredMessage {
  id: string;
  author: string;
  /** The author's display name (the agent's name, or `you`). */
  author_name?: string;
  author_kind: 'user' | 'agent';
  content: string;
  status: MessageStatus;
  turn: number;
  created_at: string;
  /** Why a failed message failed. */
  error?: string | null;
  reason?: string | null;
  citations?: readonly TranscriptCitation[] | null;
  /** The reply went past the longest message and was cut. */
  truncated?: boolean;
}

export interface DeltaInput {
  message_id: string;
  index: number;
  text: string;
  /** Where `text` starts in the message's content: joins deltas to a stored text fetched mid-reply. */
  offset?: number;
  /** Who is speaking and in which turn, when the event says (shown before the message is stored). */
  author?: string;
  turn?: number;
}

/** What a row of the transcript shows. */
export interface TranscriptEntry {
  readonly id: string;
  readonly author: string | null;
  readonly authorName: string | null;
  readonly authorKind: 'user' | 'agent' | null;
  readonly text: string;
  readonly status: MessageStatus;
  readonly turn: number | null;
  readonly createdAt: string | null;
  readonly reason: string | null;
  readonly citations: readonly TranscriptCitation[];
  readonly truncated: boolean;
  /** Changes whenever this entry does, so a memoized row re-renders only then. */
  readonly version: number;
}

/** Out-of-order deltas one message may hold while waiting for a missing one. */
export const MAX_PENDING_DELTAS = 10_000;

class Entry implements TranscriptEntry {
  id: string;
  author: string | null = null;
  authorName: string | null = null;
  authorKind: 'user' | 'agent' | null = null;
  text = '';
  status: MessageStatus = 'streaming';
  turn: number | null = null;
  createdAt: string | null = null;
  reason: string | null = null;
  citations: readonly TranscriptCitation[] = [];
  truncated = false;
  version = 0;
  /** Order of first sight: ties between entries of one turn keep arrival order. */
  readonly arrival: number;
  /** The index of the next delta to apply; null while it is unknown which deltas the stored text holds. */
  next: number | null = 0;
  /** Deltas that arrived ahead of `next`. */
  pending = new Map<number, { text: string; offset: number | undefined }>();
  /** Set once a stored final (complete or failed) message was seen: deltas no longer apply. */
  final = false;

  constructor(id: string, arrival: number) {
    this.id = id;
    this.arrival = arrival;
  }
}

const reasonOf = (message: StoredMessage): string | null => message.error ?? message.reason ?? null;

export class Transcript {
  #entries = new Map<string, Entry>();
  #arrivals = 0;
  #sorted: Entry[] | null = [];
  #version = 0;

  /** Bumps on every change; the view re-renders on it. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Entries by turn, then by order of first sight. */
  get entries(): readonly TranscriptEntry[] {
    this.#sorted ??= [...this.#entries.values()].sort(
      (a, b) => (a.turn ?? Infinity) - (b.turn ?? Infinity) || a.arrival - b.arrival,
    );
    return this.#sorted;
  }

  entry(id: string): TranscriptEntry | undefined {
    return this.#entries.get(id);
  }

  /** Whether some reply is still streaming (the view keeps the newest text in sight then). */
  get streaming(): boolean {
    for (const entry of this.#entries.values()) if (entry.status === 'streaming') return true;
    return false;
  }

  #entry(id: string): Entry {
    let entry = this.#entries.get(id);
    if (!entry) {
      entry = new Entry(id, this.#arrivals++);
      this.#entries.set(id, entry);
      this.#sorted = null;
    }
    return entry;
  }

  #touch(entry: Entry, reorder = false): void {
    entry.version++;
    this.#version++;
    if (reorder) this.#sorted = null;
    // A new version of the entry object is what React's memo compares: replace it in the
    // cached order so the row sees a changed prop.
    else if (this.#sorted) this.#sorted = [...this.#sorted];
  }

  /** Applies a batch of deltas; returns whether anything changed. */
  applyDeltas(deltas: readonly DeltaInput[]): boolean {
    const touched = new Set<Entry>();
    let reorder = false;
    for (const delta of deltas) {
      const entry = this.#entry(delta.message_id);
      if (entry.final) continue;
      if (entry.author === null && delta.author !== undefined) {
        entry.author = delta.author;
        entry.authorKind = 'agent';
      }
      if (entry.turn === null && delta.turn !== undefined) {
        entry.turn = delta.turn;
        reorder = true;
      }
      if (entry.next !== null && delta.index < entry.next) {
        touched.add(entry);
        continue;
      }
      if (entry.pending.size < MAX_PENDING_DELTAS || entry.pending.has(delta.index))
        entry.pending.set(delta.index, { text: delta.text, offset: delta.offset });
      this.#drain(entry);
      touched.add(entry);
    }
    if (touched.size === 0) return false;
    const sortedBefore = this.#sorted;
    for (const entry of touched) entry.version++;
    this.#version++;
    this.#sorted = reorder || sortedBefore === null ? null : [...sortedBefore];
    return true;
  }

  /** Moves contiguous pending deltas into the text. */
  #drain(entry: Entry): void {
    if (entry.next === null && !this.#joinByOffset(entry)) {
      // No offsets: take over from the deltas once they rebuild at least as much text from index 0.
      let rebuilt = '';
      let i = 0;
      for (; entry.pending.has(i); i++) rebuilt += entry.pending.get(i)!.text;
      if (i === 0 || rebuilt.length < entry.text.length) return;
      entry.text = rebuilt;
      for (let j = 0; j < i; j++) entry.pending.delete(j);
      entry.next = i;
    }
    let delta = entry.pending.get(entry.next!);
    while (delta !== undefined) {
      // By offset when known: a delta partly inside a stored text adds only what is new.
      const held = delta.offset === undefined ? 0 : Math.max(0, entry.text.length - delta.offset);
      entry.text += delta.text.slice(held);
      entry.pending.delete(entry.next!);
      entry.next!++;
      delta = entry.pending.get(entry.next!);
    }
  }

  /**
   * Joins a stored text of unknown coverage (a message listed mid-reply) to the deltas by
   * their `offset`: those inside it are dropped, the one that crosses its end adds only
   * what is new, and from there deltas follow by index. False while no delta reaches it.
   */
  #joinByOffset(entry: Entry): boolean {
    const indexes = [...entry.pending.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      const { text, offset } = entry.pending.get(index)!;
      if (offset === undefined || offset > entry.text.length) continue;
      entry.pending.delete(index);
      if (offset + text.length > entry.text.length) entry.text += text.slice(entry.text.length - offset);
      entry.next = index + 1;
    }
    return entry.next !== null;
  }

  /**
   * A stored message (a REST page or `discussion.message_created`). A complete or failed one
   * is final; a streaming one only seeds text the deltas have not passed yet.
   */
  applyMessages(messages: readonly StoredMessage[]): boolean {
    let changed = false;
    for (const message of messages) if (this.#applyMessage(message)) changed = true;
    return changed;
  }

  #applyMessage(message: StoredMessage): boolean {
    const entry = this.#entry(message.id);
    const reorder = entry.turn !== message.turn || entry.createdAt === null;
    entry.author = message.author;
    entry.authorName = message.author_name ?? entry.authorName;
    entry.authorKind = message.author_kind;
    entry.turn = message.turn;
    entry.createdAt = message.created_at;
    if (message.status === 'streaming') {
      if (entry.final) return false;
      if (message.content.length > entry.text.length) {
        // The stored text is ahead of what the deltas built: continue from it.
        entry.text = message.content;
        entry.next = null;
        this.#drain(entry);
      }
      entry.status = 'streaming';
    } else {
      entry.final = true;
      entry.status = message.status;
      entry.text = message.content;
      entry.reason = message.status === 'failed' ? (reasonOf(message) ?? 'failed') : null;
      entry.citations = message.citations ?? [];
      entry.truncated = message.truncated ?? false;
      entry.pending.clear();
      entry.next = null;
    }
    this.#touch(entry, reorder);
    return true;
  }

  /** Marks a reply failed (a failure event that carries no stored message). */
  fail(messageId: string, reason: string): void {
    const entry = this.#entry(messageId);
    if (entry.final) return;
    entry.final = true;
    entry.status = 'failed';
    entry.reason = reason;
    entry.pending.clear();
    this.#touch(entry);
  }

  /** The id of the newest stored message: the `after=` cursor for the next page. */
  get lastStoredId(): string | null {
    let last: Entry | null = null;
    for (const entry of this.entries as Entry[]) if (entry.createdAt !== null) last = entry;
    return last?.id ?? null;
  }
}
