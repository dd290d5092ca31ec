import { type EventEnvelope, namespaceOf, summarize } from '../../src-shared/events.ts';
import { type EventsPage, type GapReason, MAX_HISTORY_PAGE } from '../../src-shared/protocol.ts';
import { EMPTY_FILTER, type Filterable, isEmptyFilter, type LogFilter, matchesFilter } from './filter.ts';
import { VersionedModel } from './versioned-model.ts';

/**
 * The activity log's model: every event the page holds, in sequence-number order, with
 * the holes it knows about. Pure (no DOM, no timers) so it is unit-tested under Node;
 * the page feeds it once per animation frame and renders `visible`.
 *
 * Invariants: `rows` is sorted by `key` and holds each sequence number at most once;
 * `visible` is the sub-sequence of `rows` that passes the filter (gap notices always
 * pass: the filter cannot know what a hole contains).
 */

/** Holes the server announced, plus `unloaded`: older events this page chose not to hold. */
export type GapKind = GapReason | 'unloaded';

const interned = new Map<string, string>();
/** Namespaces and sources repeat endlessly; one string each keeps 100k rows lean. */
function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size < 10_000) interned.set(value, value);
  return value;
}

const SOURCE_KEYS = ['agent', 'source'] as const;
const DATA_SOURCE_KEYS = ['agent', 'speaker', 'author'] as const;

/** Who or what produced an event: metadata.agent/source, else a name in the data. */
export function sourceOf(event: Pick<EventEnvelope, 'data' | 'metadata'>): string {
  for (const key of SOURCE_KEYS) {
    const value = event.metadata?.[key];
    if (typeof value === 'string' && value !== '') return value.length > 40 ? `${value.slice(0, 39)}…` : value;
  }
  for (const key of DATA_SOURCE_KEYS) {
    const value = event.data[key];
    if (typeof value === 'string' && value !== '') return value.length > 40 ? `${value.slice(0, 39)}…` : value;
  }
  return '';
}

export class EventRow implements Filterable {
  readonly kind = 'event';
  readonly key: number;
  readonly event: EventEnvelope;
  readonly namespace: string;
  readonly source: string;
  #summary: string | undefined;

  constructor(event: EventEnvelope) {
    this.key = event.sequence_number;
    this.event = event;
    this.namespace = intern(namespaceOf(event.type));
    this.source = intern(sourceOf(event));
  }

  get seq(): number {
    return this.key;
  }

  get type(): string {
    return this.event.type;
  }

  /** Computed on first use (rendering or text search), then kept. */
  get summary(): string {
    return (this.#summary ??= summarize(this.event));
  }

  text(): string {
    return `${this.event.type} ${this.source} ${this.summary}`.toLowerCase();
  }

  data(): string {
    return JSON.stringify(this.event.data).toLowerCase();
  }
}

export interface GapRow {
  readonly kind: 'gap';
  /** Sorts just before the first missing number. */
  readonly key: number;
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly reason: GapKind;
  readonly loading: boolean;
  readonly error: string | null;
  /** The `since` of the page being fetched, while loading. */
  readonly requestSince: number | null;
}

export type LogRow = EventRow | GapRow;

/** How many events one click on a gap loads (the history endpoint's maximum page). */
export const BACKFILL_PAGE = MAX_HISTORY_PAGE;

export interface BackfillRequest {
  since: number;
  limit: number;
}

export interface ActivityLogOptions {
  /** Most events held while following the live tail; older ones become an `unloaded` notice. */
  capacity?: number;
}

/** A minute at 1,000 events/s (~20 MB of heap); at everyday rates, hours of history. */
export const DEFAULT_CAPACITY = 60_000;

function makeGap(
  from: number,
  to: number,
  reason: GapKind,
  extra: Partial<Pick<GapRow, 'loading' | 'error' | 'requestSince'>> = {},
): GapRow {
  return {
    kind: 'gap',
    key: from - 0.5,
    id: `gap:${from}-${to}:${reason}`,
    from,
    to,
    reason,
    loading: false,
    error: null,
    requestSince: null,
    ...extra,
  };
}

/** `retention` ranges are gone from the server too; everything else can be fetched. */
export const canBackfill = (gap: GapRow): boolean => gap.reason !== 'retention';

/** First index whose key is >= `key` (rows are sorted by key). */
function lowerBound(rows: readonly LogRow[], key: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ActivityLog extends VersionedModel {
  readonly capacity: number;
  /**
   * Most events held while the reader is away from the live tail (scrolled up, loading
   * older events): trimming then would pull rows from under them, so it waits, up to this.
   */
  readonly holdCapacity: number;
  /** Most events held aside while paused; older held events become an `unloaded` notice on resume. */
  readonly pauseCapacity: number;
  #hold = false;
  #rows: LogRow[] = [];
  #visible: LogRow[] = [];
  #filter: LogFilter = EMPTY_FILTER;
  #events = 0;
  /** The gap notices among the rows (all of them visible, so visible events = visible rows − gaps). */
  #gapRows = new Set<GapRow>();
  #paused = false;
  #pending: EventEnvelope[] = [];
  #pendingSeqs = new Set<number>();
  /** Held-aside events let go while paused (beyond pauseCapacity): shown as a notice on resume. */
  #pendingDropped: { from: number; to: number; count: number } | null = null;

  constructor(options: ActivityLogOptions = {}) {
    super();
    this.capacity = options.capacity ?? DEFAULT_CAPACITY;
    this.holdCapacity = Math.floor(this.capacity * 1.5);
    this.pauseCapacity = Math.max(1, Math.floor(this.capacity / 2));
  }

  // -- reading ---------------------------------------------------------------------

  /** Every row (events and gap notices) in order. */
  get rows(): readonly LogRow[] {
    return this.#rows;
  }

  /** The rows the filter lets through, in order: what the log shows. */
  get visible(): readonly LogRow[] {
    return this.#visible;
  }

  get filter(): LogFilter {
    return this.#filter;
  }

  /** Events held (gap notices not counted). */
  get eventCount(): number {
    return this.#events;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Events the filter lets through. */
  get visibleEventCount(): number {
    return this.#visible.length - this.#gapRows.size;
  }

  /** Events received while paused, shown on resume. */
  get pendingCount(): number {
    return this.#pending.length + (this.#pendingDropped?.count ?? 0);
  }

  /** Events behind `unloaded` notices: in the store, a click away. */
  get unloadedCount(): number {
    let n = 0;
    for (const gap of this.#gapRows) if (gap.reason === 'unloaded') n += gap.to - gap.from + 1;
    return n;
  }

  /** Whether loading another page of older events would be kept (not trimmed away at once). */
  get canLoadOlder(): boolean {
    return this.#events + BACKFILL_PAGE <= (this.#hold ? this.holdCapacity : this.capacity);
  }

  get lastSequenceNumber(): number | undefined {
    for (let i = this.#rows.length - 1; i >= 0; i--) {
      const row = this.#rows[i]!;
      if (row.kind === 'event') return row.key;
    }
    return undefined;
  }

  get gaps(): GapRow[] {
    return [...this.#gapRows].sort((a, b) => a.key - b.key);
  }

  has(seq: number): boolean {
    const index = lowerBound(this.#rows, seq);
    const row = this.#rows[index];
    return row !== undefined && row.kind === 'event' && row.key === seq;
  }

  find(seq: number): EventRow | undefined {
    const row = this.#rows[lowerBound(this.#rows, seq)];
    return row?.kind === 'event' && row.key === seq ? row : undefined;
  }

  /** Index in `visible` of the first row whose key is >= `key` (where a row with that key is, or would be). */
  visibleIndexOf(key: number): number {
    return lowerBound(this.#visible, key);
  }

  /** Visible rows with a key above `key`: the "N new" of a log scrolled away from the bottom. */
  visibleAfter(key: number): number {
    return this.#visible.length - lowerBound(this.#visible, key + 0.25);
  }

  // -- writing ---------------------------------------------------------------------

  /**
   * Takes events from the live stream or a backfill, in any order, duplicates allowed.
   * Returns the events that were new (for rate and namespace figures). While paused they
   * are held aside and count as new when they arrive, not when shown.
   */
  ingest(events: readonly EventEnvelope[]): EventEnvelope[] {
    if (events.length === 0) return [];
    if (this.#paused) {
      const fresh: EventEnvelope[] = [];
      for (const event of events) {
        const seq = event.sequence_number;
        if (this.#pendingSeqs.has(seq) || this.has(seq)) continue;
        this.#pendingSeqs.add(seq);
        this.#pending.push(event);
        fresh.push(event);
      }
      this.#boundPending();
      if (fresh.length > 0) this.changed();
      return fresh;
    }
    const fresh = this.#insert(events);
    if (fresh.length > 0) {
      this.#evict();
      this.changed();
    }
    return fresh;
  }

  /** A long pause must not hold events without bound: the oldest held ones are let go (in chunks). */
  #boundPending(): void {
    const slack = Math.max(1, Math.floor(this.pauseCapacity / 50));
    if (this.#pending.length <= this.pauseCapacity + slack) return;
    const dropped = this.#pending.splice(0, this.#pending.length - this.pauseCapacity);
    const before = this.#pendingDropped ?? { from: Number.POSITIVE_INFINITY, to: 0, count: 0 };
    let { from, to } = before;
    for (const event of dropped) {
      this.#pendingSeqs.delete(event.sequence_number);
      from = Math.min(from, event.sequence_number);
      to = Math.max(to, event.sequence_number);
    }
    this.#pendingDropped = { from, to, count: before.count + dropped.length };
  }

  #insert(events: readonly EventEnvelope[]): EventEnvelope[] {
    const fresh: EventEnvelope[] = [];
    const filter = this.#filter;
    const everything = isEmptyFilter(filter);
    for (const event of events) {
      const seq = event.sequence_number;
      const rows = this.#rows;
      const last = rows[rows.length - 1];
      const row = new EventRow(event);
      const shown = everything || matchesFilter(row, filter);
      if (last === undefined || last.key < seq) {
        // The live stream's case: strictly after everything held.
        rows.push(row);
        if (shown) this.#visible.push(row);
      } else {
        const index = lowerBound(rows, seq);
        const there = rows[index];
        if (there !== undefined && there.kind === 'event' && there.key === seq) continue; // a duplicate
        rows.splice(index, 0, row);
        if (shown) this.#visible.splice(lowerBound(this.#visible, seq), 0, row);
      }
      this.#events++;
      fresh.push(event);
    }
    return fresh;
  }

  /**
   * Over capacity, the oldest events leave (in chunks, so a busy stream does not shift
   * the arrays every frame) and one leading `unloaded` notice stands for them and for any
   * older notices they pass.
   */
  #evict(): void {
    const limit = this.#hold ? this.holdCapacity : this.capacity;
    const slack = Math.max(1, Math.floor(this.capacity / 50));
    if (this.#events <= limit + slack) return;
    let excess = this.#events - limit;
    let cut = 0;
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    const rows = this.#rows;
    while (cut < rows.length && excess > 0) {
      const row = rows[cut]!;
      if (row.kind === 'event') {
        excess--;
        this.#events--;
        from = Math.min(from, row.key);
        to = Math.max(to, row.key);
      } else {
        from = Math.min(from, row.from);
        to = Math.max(to, row.to);
        this.#gapRows.delete(row);
      }
      cut++;
    }
    // A notice that now leads the rows and touches the cut joins it.
    while (cut < rows.length && rows[cut]!.kind === 'gap') {
      const gap = rows[cut] as GapRow;
      if (gap.from > to + 1) break;
      from = Math.min(from, gap.from);
      to = Math.max(to, gap.to);
      this.#gapRows.delete(gap);
      cut++;
    }
    const firstKept = rows[cut];
    const notice = makeGap(from, to, 'unloaded');
    rows.splice(0, cut, notice);
    this.#gapRows.add(notice);
    const boundary = firstKept?.key ?? Number.POSITIVE_INFINITY;
    this.#visible.splice(0, lowerBound(this.#visible, boundary), notice);
  }

  /**
   * Records a hole. Holes never overlap: touching or overlapping fetchable holes merge
   * into one notice, and a `retention` hole (gone from the server too) takes its range
   * out of any fetchable one.
   */
  addGap(from: number, to: number, reason: GapKind): void {
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from || from < 1) return;
    this.#addGap(from, to, reason);
    this.changed();
  }

  #addGap(from: number, to: number, reason: GapKind): void {
    const retention = reason === 'retention';
    let lo = from;
    let hi = to;
    let kind = reason;
    for (const row of [...this.#gapRows]) {
      if (row.loading || row.from > hi + 1 || row.to < lo - 1) continue;
      if ((row.reason === 'retention') === retention) {
        // Same class: merge. A server-side reason tells more than our own unloading.
        lo = Math.min(lo, row.from);
        hi = Math.max(hi, row.to);
        if (kind === 'unloaded') kind = row.reason;
        this.#removeRow(row);
      } else if (retention && row.from <= hi && row.to >= lo) {
        // A fetchable hole loses what is gone for good.
        this.#removeRow(row);
        if (row.from < lo) this.#insertRow(makeGap(row.from, lo - 1, row.reason));
        if (row.to > hi) this.#insertRow(makeGap(hi + 1, row.to, row.reason));
      }
    }
    // A fetchable hole skips what retention holes already cover.
    const pieces: [number, number][] = [[lo, hi]];
    if (!retention) {
      for (const row of this.#gapRows) {
        if (row.reason !== 'retention') continue;
        for (let i = pieces.length - 1; i >= 0; i--) {
          const [a, b] = pieces[i]!;
          if (row.from > b || row.to < a) continue;
          const rest: [number, number][] = [];
          if (a < row.from) rest.push([a, row.from - 1]);
          if (b > row.to) rest.push([row.to + 1, b]);
          pieces.splice(i, 1, ...rest);
        }
      }
    }
    for (const [a, b] of pieces) this.#insertRow(makeGap(a, b, kind));
  }

  /** Marks a gap as loading and says what to fetch; undefined if it cannot be fetched now. */
  beginBackfill(id: string): BackfillRequest | undefined {
    const gap = this.#gap(id);
    if (!gap || gap.loading || !canBackfill(gap)) return undefined;
    // The newest end first: it joins the events below the notice, and each click reaches further back.
    const since = Math.max(gap.from - 1, gap.to - BACKFILL_PAGE);
    this.#replaceRow(gap, { ...gap, loading: true, error: null, requestSince: since });
    this.changed();
    return { since, limit: BACKFILL_PAGE };
  }

  /** Merges a fetched page into the log and shrinks (or splits, or removes) the gap; returns the new events. */
  completeBackfill(id: string, page: Pick<EventsPage, 'events' | 'oldest_sequence_number'>): EventEnvelope[] {
    const gap = this.#gap(id);
    if (!gap || !gap.loading || gap.requestSince === null) return [];
    const since = gap.requestSince;
    this.#removeRow(gap);
    const inRange = page.events.filter((e) => e.sequence_number > since && e.sequence_number <= gap.to);
    const fresh = this.#insert(inRange);
    // What is left: everything older than the server's oldest event is gone for good;
    // the unrequested part (gap.from .. since] can still be fetched.
    const oldest = page.oldest_sequence_number > 0 ? page.oldest_sequence_number : gap.from;
    const goneTo = Math.min(gap.to, oldest - 1);
    if (goneTo >= gap.from) this.#addGap(gap.from, goneTo, 'retention');
    const keepFrom = Math.max(gap.from, oldest);
    if (keepFrom <= since) this.#addGap(keepFrom, since, gap.reason);
    this.changed();
    return fresh;
  }

  failBackfill(id: string, message: string): void {
    const gap = this.#gap(id);
    if (!gap) return;
    this.#replaceRow(gap, { ...gap, loading: false, requestSince: null, error: message });
    this.changed();
  }

  setFilter(filter: LogFilter): void {
    this.#filter = filter;
    this.#visible = isEmptyFilter(filter)
      ? [...this.#rows]
      : this.#rows.filter((row) => row.kind === 'gap' || matchesFilter(row, filter));
    this.changed();
  }

  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (!paused) {
      const held = this.#pending;
      const dropped = this.#pendingDropped;
      this.#pending = [];
      this.#pendingSeqs.clear();
      this.#pendingDropped = null;
      this.#insert(held);
      if (dropped) this.#addGap(dropped.from, dropped.to, 'unloaded');
      this.#evict();
    }
    this.changed();
  }

  /**
   * The reader left the live tail (true) or came back to it (false). While away, the
   * oldest rows stay (up to holdCapacity) so what they read, or load, is not trimmed.
   */
  setHold(hold: boolean): void {
    if (hold === this.#hold) return;
    this.#hold = hold;
    if (!hold) {
      const before = this.#events;
      this.#evict();
      if (this.#events !== before) this.changed();
    }
  }

  /** The store was recreated (new epoch): nothing held describes it any more. */
  clear(): void {
    this.#rows = [];
    this.#visible = [];
    this.#events = 0;
    this.#gapRows.clear();
    this.#pending = [];
    this.#pendingSeqs.clear();
    this.#pendingDropped = null;
    this.changed();
  }

  /** The shown events as JSON lines, the format `lookout tail --json` prints. */
  exportVisible(): string {
    let out = '';
    for (const row of this.#visible) if (row.kind === 'event') out += `${JSON.stringify(row.event)}\n`;
    return out;
  }

  // -- internals -------------------------------------------------------------------

  #gap(id: string): GapRow | undefined {
    for (const gap of this.#gapRows) if (gap.id === id) return gap;
    return undefined;
  }

  #insertRow(row: GapRow): void {
    this.#gapRows.add(row);
    this.#rows.splice(lowerBound(this.#rows, row.key), 0, row);
    this.#visible.splice(lowerBound(this.#visible, row.key), 0, row);
  }

  #removeRow(row: LogRow): void {
    const i = this.#rows.indexOf(row, lowerBound(this.#rows, row.key));
    if (i !== -1) {
      this.#rows.splice(i, 1);
      if (row.kind === 'gap') this.#gapRows.delete(row);
    }
    const j = this.#visible.indexOf(row, lowerBound(this.#visible, row.key));
    if (j !== -1) this.#visible.splice(j, 1);
  }

  #replaceRow(row: GapRow, next: GapRow): void {
    this.#gapRows.delete(row);
    this.#gapRows.add(next);
    const i = this.#rows.indexOf(row, lowerBound(this.#rows, row.key));
    if (i !== -1) this.#rows[i] = next;
    const j = this.#visible.indexOf(row, lowerBound(this.#visible, row.key));
    if (j !== -1) this.#visible[j] = next;
  }
}
