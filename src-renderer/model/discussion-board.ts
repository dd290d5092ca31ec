import type { Discussion, Message } from '../../src-shared/discussions.ts';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { type DeltaInput, type StoredMessage, Transcript } from './transcript.ts';
import { VersionedModel } from './versioned-model.ts';

/** Event types that carry a discussion's messages (what the transcript is built from). */
export const TRANSCRIPT_EVENT_TYPES = [
  'discussion.message_started',
  'discussion.message_delta',
  'discussion.message_created',
] as const;

export interface DiscussionEffects {
  /** The list (counts, statuses, speakers) should be read again. */
  reloadList: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** A message as an event carries it (`message_started`, `message_created`), or undefined if it is not one. */
function messageOf(data: Record<string, unknown>): StoredMessage | undefined {
  const message = data.message;
  if (!isObject(message)) return undefined;
  if (typeof message.id !== 'string' || typeof message.content !== 'string' || typeof message.status !== 'string')
    return undefined;
  return message as unknown as StoredMessage;
}

function deltaOf(data: Record<string, unknown>): DeltaInput | undefined {
  const { message_id, index, text, offset } = data;
  if (typeof message_id !== 'string' || typeof index !== 'number' || typeof text !== 'string') return undefined;
  return typeof offset === 'number' ? { message_id, index, text, offset } : { message_id, index, text };
}

/**
 * Discussions for the dashboard: the list as the server last gave it (kept current by
 * `discussion.created|updated`, which carry the whole discussion), and the open one's
 * transcript, fed straight from the stream: deltas and messages of the open discussion
 * go into its Transcript in the order they arrived, one batch per animation frame.
 */
export class DiscussionBoard extends VersionedModel {
  discussions: Discussion[] = [];
  loaded = false;
  selectedId: string | null = null;
  transcript: Transcript | null = null;
  /** The open discussion's stored messages are all read (paging done). */
  transcriptLoaded = false;
  transcriptError: string | null = null;

  get selected(): Discussion | undefined {
    return this.selectedId === null ? undefined : this.discussion(this.selectedId);
  }

  discussion(id: string): Discussion | undefined {
    return this.discussions.find((d) => d.id === id);
  }

  setList(discussions: Discussion[]): void {
    this.discussions = discussions;
    this.loaded = true;
    this.changed();
  }

  /** A discussion as an event or a write answered it: newer than what is listed, or new. */
  upsert(discussion: Discussion): void {
    this.#upsertQuiet(discussion);
    this.changed();
  }

  /**
   * Opens a discussion: a fresh transcript seeded with what the page's event history holds
   * for it (so a reply already streaming continues from its first delta), then the stored
   * pages arrive through `addPage`.
   */
  select(id: string | null, held: readonly EventEnvelope[] = []): void {
    this.selectedId = id;
    this.transcript = id === null ? null : new Transcript();
    this.transcriptLoaded = false;
    this.transcriptError = null;
    if (id !== null) this.#feed(held.filter((e) => e.data.discussion_id === id));
    this.changed();
  }

  /** A page of stored messages of the open discussion (ignored if another one opened meanwhile). */
  addPage(id: string, messages: readonly Message[], last: boolean): void {
    if (this.selectedId !== id || !this.transcript) return;
    this.transcript.applyMessages(messages);
    if (last) this.transcriptLoaded = true;
    this.changed();
  }

  /** A message this page just posted (its event follows; applying both is harmless). */
  addMessage(id: string, message: Message): void {
    if (this.selectedId !== id || !this.transcript) return;
    if (this.transcript.applyMessages([message])) this.changed();
  }

  pageFailed(id: string, message: string): void {
    if (this.selectedId !== id) return;
    this.transcriptError = message;
    this.changed();
  }

  /** Applies a batch of events; says what the controller should fetch. */
  apply(events: readonly EventEnvelope[]): DiscussionEffects {
    const effects: DiscussionEffects = { reloadList: false };
    let changed = false;
    const mine: EventEnvelope[] = [];
    for (const event of events) {
      if (!event.type.startsWith('discussion.')) continue;
      const id = event.data.discussion_id;
      if (event.type === 'discussion.created' || event.type === 'discussion.updated') {
        const discussion = event.data.discussion;
        if (isObject(discussion) && typeof discussion.id === 'string') {
          this.#upsertQuiet(discussion as unknown as Discussion);
          changed = true;
        } else effects.reloadList = true;
      } else if (event.type === 'discussion.status_changed' || event.type === 'discussion.message_created') {
        // Counts and statuses: an `updated` event normally follows; read the list in case not.
        effects.reloadList = true;
      }
      if (id === this.selectedId && (TRANSCRIPT_EVENT_TYPES as readonly string[]).includes(event.type))
        mine.push(event);
    }
    if (mine.length > 0 && this.#feed(mine)) changed = true;
    if (changed) this.changed();
    return effects;
  }

  #upsertQuiet(discussion: Discussion): void {
    const at = this.discussions.findIndex((d) => d.id === discussion.id);
    if (at === -1) this.discussions = [discussion, ...this.discussions];
    else if (this.discussions[at]!.updated_at <= discussion.updated_at)
      this.discussions = this.discussions.with(at, discussion);
  }

  /** Feeds transcript events in order, grouping runs of deltas into one apply. */
  #feed(events: readonly EventEnvelope[]): boolean {
    const transcript = this.transcript;
    if (!transcript) return false;
    let changed = false;
    let deltas: DeltaInput[] = [];
    const flush = () => {
      if (deltas.length > 0 && transcript.applyDeltas(deltas)) changed = true;
      deltas = [];
    };
    for (const event of events) {
      if (event.type === 'discussion.message_delta') {
        const delta = deltaOf(event.data);
        if (delta) deltas.push(delta);
        continue;
      }
      const message = messageOf(event.data);
      if (!message) continue;
      flush();
      if (transcript.applyMessages([message])) changed = true;
    }
    flush();
    return changed;
  }
}
