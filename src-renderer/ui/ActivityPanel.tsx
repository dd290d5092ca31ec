import { useVirtualizer } from '@tanstack/react-virtual';
import { type KeyboardEvent, memo, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { NAMESPACES } from '../../src-shared/events.ts';
import { BACKFILL_PAGE, canBackfill, type EventRow, type GapRow, type LogRow } from '../model/activity-log.ts';
import { describeFilter, isEmptyFilter } from '../model/filter.ts';
import { formatClock, formatCount } from '../model/format.ts';
import { FILTER_INPUT_ID, useController, useDashboard, useLogVersion } from './hooks.ts';
import { ArrowDownIcon, CloseIcon, DownloadIcon, FilterIcon, PauseIcon, PlayIcon, WarnIcon } from './icons.tsx';

/** Every row has the same height: offsets are index × ROW_HEIGHT, nothing is measured. */
export const ROW_HEIGHT = 28;
/** Within this many pixels of the end counts as "at the bottom". */
const BOTTOM_SLACK = 4;

const KNOWN_NAMESPACES = new Set(NAMESPACES);
export const namespaceClass = (namespace: string): string =>
  `ns-${KNOWN_NAMESPACES.has(namespace) ? namespace : 'other'}`;
/** Failures (`workflow.failed`, `x.ci.failed`) are marked whatever their namespace. */
const FAILURE = /\.(failed|error)$/;

const EventLine = memo(function EventLine({
  row,
  top,
  selected,
  cursor,
  onSelect,
}: {
  row: EventRow;
  top: number;
  selected: boolean;
  cursor: boolean;
  onSelect: (seq: number) => void;
}) {
  const { event } = row;
  return (
    <div
      className={`row event ${namespaceClass(row.namespace)}${FAILURE.test(event.type) ? ' failed' : ''}${selected ? ' selected' : ''}${cursor ? ' cursor' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      data-seq={row.seq}
      onClick={() => onSelect(row.seq)}
    >
      <span className="cell time" title={`${event.timestamp} · #${row.seq}`}>
        {formatClock(event.timestamp)}
      </span>
      <span className="cell type">
        <span className="type-chip">{event.type}</span>
      </span>
      <span className="cell source" title={row.source}>
        {row.source}
      </span>
      <span className="cell summary">{row.summary}</span>
    </div>
  );
});

function gapText(gap: GapRow): string {
  const n = gap.to - gap.from + 1;
  const range = n === 1 ? `Event #${gap.from}` : `${formatCount(n)} events (#${gap.from}–#${gap.to})`;
  switch (gap.reason) {
    case 'overflow':
      return `${range} missed: this page fell behind the stream`;
    case 'limit':
      return `${range} not replayed: too many to replay at once`;
    case 'retention':
      return `${range} no longer stored (retention)`;
    case 'unloaded':
      return `${range} older, not loaded`;
  }
}

const GapLine = memo(function GapLine({
  gap,
  top,
  atCapacity,
  onLoad,
}: {
  gap: GapRow;
  top: number;
  atCapacity: boolean;
  onLoad: (id: string) => void;
}) {
  const n = gap.to - gap.from + 1;
  const fetchable = canBackfill(gap);
  const disabledReason = atCapacity
    ? 'This page holds as many events as it keeps; older ones stay in the store (lookout tail --since N, or GET /api/v1/events)'
    : undefined;
  return (
    <div className={`row gap gap-${gap.reason}`} style={{ transform: `translateY(${top}px)` }} data-gap={gap.id}>
      <WarnIcon />
      <span className="gap-text">{gapText(gap)}</span>
      {fetchable && (
        <button
          type="button"
          className="link-button"
          disabled={gap.loading || atCapacity}
          title={disabledReason}
          onClick={() => onLoad(gap.id)}
        >
          {gap.loading
            ? 'Loading…'
            : n > BACKFILL_PAGE
              ? `Load ${formatCount(BACKFILL_PAGE)} more`
              : `Load ${n === 1 ? 'it' : formatCount(n)}`}
        </button>
      )}
      {gap.error && <span className="gap-error">Could not load: {gap.error}</span>}
    </div>
  );
});

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Toolbar() {
  const controller = useController();
  const { log } = controller;
  useLogVersion();
  const text = useDashboard((s) => s.filterText);
  const setText = (value: string) => controller.app.dispatch({ type: 'filter-text', text: value });
  // Typing stays instant; the (possibly 100k-row) refilter waits for a pause in typing.
  useEffect(() => {
    const timer = window.setTimeout(() => controller.setFilter(text), 120);
    return () => window.clearTimeout(timer);
  }, [controller, text]);
  const filtered = !isEmptyFilter(log.filter);
  const shown = log.visibleEventCount;
  const exportRows = () =>
    download(`lookout-events-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`, log.exportVisible());
  return (
    <div className="log-toolbar">
      <label className="filter">
        <FilterIcon />
        <input
          id={FILTER_INPUT_ID}
          type="search"
          aria-label="Filter events"
          placeholder="Filter: chat.*  workflow.failed  -system.*  or text"
          spellCheck={false}
          autoComplete="off"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              setText('');
              controller.setFilter('');
              e.currentTarget.blur();
            }
          }}
        />
        {text !== '' && (
          <button type="button" className="icon-button" aria-label="Clear the filter" onClick={() => setText('')}>
            <CloseIcon />
          </button>
        )}
        <kbd aria-hidden>/</kbd>
      </label>
      <span className="log-count" title={filtered ? `Showing ${describeFilter(log.filter)}` : undefined}>
        {filtered
          ? `${formatCount(shown)} of ${formatCount(log.eventCount)} events`
          : `${formatCount(log.eventCount)} events`}
      </span>
      <button
        type="button"
        className="button"
        aria-pressed={log.paused}
        onClick={() => controller.setPaused(!log.paused)}
        title={log.paused ? 'Show what arrived while paused' : 'Freeze the log; events keep arriving and are held'}
      >
        {log.paused ? <PlayIcon /> : <PauseIcon />}
        {log.paused ? `Resume (${formatCount(log.pendingCount)} new)` : 'Pause'}
      </button>
      <button
        type="button"
        className="button"
        onClick={exportRows}
        disabled={shown === 0}
        title="Download the events shown as JSON lines"
      >
        <DownloadIcon />
        Export
      </button>
    </div>
  );
}

export function ActivityPanel({ selected, onSelect }: { selected: number | null; onSelect: (seq: number) => void }) {
  const controller = useController();
  const { log } = controller;
  const version = useLogVersion();
  const rows = log.visible;
  const scrollRef = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  /** The row at the top of the viewport and how far into it we are: kept in place while rows come and go. */
  const anchor = useRef<{ key: number; offset: number } | null>(null);
  /** Set while scrolled away from the bottom: the newest row seen then, to count what came since. */
  const [detachedAt, setDetachedAt] = useState<number | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
  });

  const detach = useCallback(() => {
    if (!following.current) return;
    following.current = false;
    log.setHold(true);
    const last = log.visible[log.visible.length - 1];
    setDetachedAt(last ? last.key : 0);
  }, [log]);

  const follow = useCallback(() => {
    following.current = true;
    log.setHold(false);
    setDetachedAt(null);
    const el = scrollRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [log]);

  // After every change: stay at the bottom when following, else keep the viewed rows still.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    if (following.current) {
      el.scrollTop = el.scrollHeight;
      return;
    }
    const at = anchor.current;
    if (at) {
      const target = log.visibleIndexOf(at.key) * ROW_HEIGHT + at.offset;
      if (Math.abs(el.scrollTop - target) > 1) el.scrollTop = target;
    }
  }, [version, log]);

  const onScroll = () => {
    const el = scrollRef.current!;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
    if (atBottom) {
      if (!following.current) {
        following.current = true;
        log.setHold(false);
        setDetachedAt(null);
      }
    } else {
      detach();
    }
    const index = Math.floor(el.scrollTop / ROW_HEIGHT);
    const row = log.visible[index];
    anchor.current = row ? { key: row.key, offset: el.scrollTop - index * ROW_HEIGHT } : null;
  };

  const moveCursor = (delta: number | 'start' | 'end') => {
    const list = log.visible;
    if (list.length === 0) return;
    const current = cursor === null ? list.length - 1 : Math.min(log.visibleIndexOf(cursor), list.length - 1);
    const next =
      delta === 'start'
        ? 0
        : delta === 'end'
          ? list.length - 1
          : Math.max(0, Math.min(list.length - 1, current + delta));
    if (next < list.length - 1) detach();
    setCursor(list[next]!.key);
    virtualizer.scrollToIndex(next, { align: 'auto' });
    if (delta === 'end') follow();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.target !== e.currentTarget) return;
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 280) / ROW_HEIGHT) - 1);
    const moves: Record<string, number | 'start' | 'end'> = {
      ArrowDown: 1,
      ArrowUp: -1,
      PageDown: page,
      PageUp: -page,
      Home: 'start',
      End: 'end',
    };
    const move = moves[e.key];
    if (move !== undefined) {
      e.preventDefault();
      moveCursor(move);
    } else if (e.key === 'Enter' && cursor !== null) {
      // The drawer takes focus (its Close button) while this key is still down: without
      // this, the same Enter goes on to "click" Close and the drawer shuts at once.
      e.preventDefault();
      const row = log.visible[log.visibleIndexOf(cursor)];
      if (row?.kind === 'event') onSelect(row.key);
      else if (row?.kind === 'gap') void controller.backfill(row.id);
    }
  };

  const onLoad = useCallback((id: string) => void controller.backfill(id), [controller]);
  const atCapacity = !log.canLoadOlder;
  const fresh = detachedAt === null ? 0 : log.visibleAfter(detachedAt);
  const items = virtualizer.getVirtualItems();

  return (
    <section className="panel activity" aria-label="Activity">
      <Toolbar />
      <div className="log-head" aria-hidden>
        <span>Time</span>
        <span>Type</span>
        <span>Source</span>
        <span>Summary</span>
      </div>
      <div className="log-body">
        <div
          ref={scrollRef}
          className="log-scroll"
          role="log"
          aria-label="Activity log"
          tabIndex={0}
          data-event-count={log.eventCount}
          data-unloaded-count={log.unloadedCount}
          data-visible-count={rows.length}
          onScroll={onScroll}
          onWheel={(e) => {
            if (e.deltaY < 0) detach();
          }}
          onKeyDown={onKeyDown}
        >
          <div className="log-rows" style={{ height: virtualizer.getTotalSize() }}>
            {items.map((item) => {
              const row: LogRow | undefined = rows[item.index];
              if (!row) return null;
              return row.kind === 'event' ? (
                <EventLine
                  key={row.key}
                  row={row}
                  top={item.start}
                  selected={row.key === selected}
                  cursor={row.key === cursor}
                  onSelect={onSelect}
                />
              ) : (
                <GapLine
                  key={row.id}
                  gap={row}
                  top={item.start}
                  atCapacity={atCapacity && row.reason === 'unloaded'}
                  onLoad={onLoad}
                />
              );
            })}
          </div>
          {rows.length === 0 && <EmptyLog filtered={!isEmptyFilter(log.filter)} total={log.eventCount} />}
        </div>
        {log.paused && (
          <div className="log-paused" aria-live="polite">
            Paused — {formatCount(log.pendingCount)} new {log.pendingCount === 1 ? 'event' : 'events'} held
          </div>
        )}
        {detachedAt !== null && !log.paused && (
          <button type="button" className="jump" onClick={follow}>
            <ArrowDownIcon />
            {fresh > 0 ? `Jump to latest (${formatCount(fresh)} new)` : 'Jump to latest'}
          </button>
        )}
      </div>
    </section>
  );
}

function EmptyLog({ filtered, total }: { filtered: boolean; total: number }) {
  if (filtered && total > 0) return <div className="log-empty">No events match the filter.</div>;
  return (
    <div className="log-empty">
      <p>Waiting for events…</p>
      <p>
        Agents publish with{' '}
        <code>
          lookout emit workflow.started --data '{'{'}"workflow_id":"w1"{'}'}'
        </code>{' '}
        or <code>POST /api/v1/events</code>.
      </p>
    </div>
  );
}
