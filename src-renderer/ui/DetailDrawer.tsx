import { useEffect, useRef, useState } from 'react';
import { formatClock } from '../model/format.ts';
import { namespaceClass } from './ActivityPanel.tsx';
import { useController, useLogVersion } from './hooks.ts';
import { CheckIcon, CloseIcon, CopyIcon, FilterIcon } from './icons.tsx';

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No clipboard permission (an embedded view, say): fall back to a selection copy.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('copy failed');
}

export function DetailDrawer({ seq, onClose }: { seq: number; onClose: () => void }) {
  const { log, app } = useController();
  useLogVersion();
  const row = log.find(seq);
  const [copied, setCopied] = useState<'ok' | 'failed' | null>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    setCopied(null);
  }, [seq]);
  // Focus moves into the drawer and, when it closes, back to where it came from.
  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    // Found now: by the time the cleanup runs React has already let go of the ref.
    const drawer = closeRef.current?.closest('.drawer');
    closeRef.current?.focus({ preventScroll: true });
    return () => {
      const inside = drawer?.contains(document.activeElement) ?? false;
      if ((inside || document.activeElement === document.body) && previous?.isConnected)
        previous.focus({ preventScroll: true });
    };
  }, []);

  const json = row ? JSON.stringify(row.event, null, 2) : '';
  const copy = async () => {
    try {
      await copyText(json);
      setCopied('ok');
    } catch {
      setCopied('failed');
    }
  };

  return (
    <aside className="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-title">
      <div className="drawer-head">
        <h2 id="drawer-title">
          {row ? <span className={`type-chip ${namespaceClass(row.namespace)}`}>{row.event.type}</span> : 'Event'}
          <span className="drawer-seq">#{seq}</span>
        </h2>
        <button
          ref={closeRef}
          type="button"
          className="icon-button"
          aria-label="Close details"
          title="Close (Esc)"
          onClick={onClose}
        >
          <CloseIcon />
        </button>
      </div>
      {row ? (
        <>
          <dl className="drawer-meta">
            <dt>Time</dt>
            <dd title={row.event.timestamp}>
              {formatClock(row.event.timestamp)} <span className="muted">{row.event.timestamp}</span>
            </dd>
            <dt>Source</dt>
            <dd>{row.source || <span className="muted">—</span>}</dd>
            <dt>Summary</dt>
            <dd>{row.summary}</dd>
          </dl>
          <div className="drawer-actions">
            <button type="button" className="button" onClick={copy}>
              {copied === 'ok' ? <CheckIcon /> : <CopyIcon />}
              {copied === 'ok' ? 'Copied' : copied === 'failed' ? 'Copy failed' : 'Copy as JSON'}
            </button>
            <button
              type="button"
              className="button"
              onClick={() => app.dispatch({ type: 'filter-text', text: row.event.type })}
            >
              <FilterIcon />
              Only {row.event.type}
            </button>
          </div>
          <pre className="drawer-json" aria-label="Event JSON" tabIndex={0}>
            {json}
          </pre>
        </>
      ) : (
        <p className="drawer-missing">This event is no longer held by the page.</p>
      )}
    </aside>
  );
}
