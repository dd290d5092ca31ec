import { useCallback, useEffect, useState } from 'react';
import type {
  ModelPrice,
  PriceTable,
  SessionsPage,
  SessionSummary,
  TraceWaterfall,
} from '../../src-shared/sessions.ts';
import { API, ApiError, get, request } from '../connection/api.ts';
import { formatClock } from '../model/format.ts';
import { useWriteBlocked } from './hooks.ts';

/**
 * Agent sessions (OpenTelemetry and Claude Code hooks), per session and per model:
 * duration, tool calls, tokens, cost; the price table that costs tokens; and a waterfall
 * of a selected trace. Figures come from GET /api/v1/sessions, refreshed every few
 * seconds while the view is open.
 */

const REFRESH_MS = 5000;

const ms = (value: number): string =>
  value < 1000
    ? `${Math.round(value)} ms`
    : value < 60_000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value / 60_000)} min`;
const tokens = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(n));
const usd = (value: number | null): string =>
  value === null ? '—' : `$${value < 1 ? value.toFixed(4) : value.toFixed(2)}`;

function Waterfall({ traceId }: { traceId: string }) {
  const [trace, setTrace] = useState<TraceWaterfall | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    get<TraceWaterfall>(`${API}/traces/${encodeURIComponent(traceId)}`, { signal: controller.signal })
      .then(setTrace)
      .catch((e: unknown) => {
        if ((e as Error).name !== 'AbortError') setError((e as Error).message);
      });
    return () => controller.abort();
  }, [traceId]);
  if (error) return <p className="muted">{error}</p>;
  if (!trace) return <p className="muted">Loading trace…</p>;
  const total = Math.max(trace.duration_ms, 1);
  return (
    <div className="waterfall" aria-label={`trace ${traceId}`}>
      <p className="muted">
        trace {traceId.slice(0, 12)}… · {trace.spans.length} spans · {ms(trace.duration_ms)}
      </p>
      {trace.spans.map((span) => (
        <div key={span.sequence_number} className="waterfall-row" title={`${span.name} ${ms(span.duration_ms)}`}>
          <span className="waterfall-name" style={{ paddingLeft: `${span.depth * 12}px` }}>
            {span.name}
          </span>
          <span className="waterfall-track">
            <span
              className={`waterfall-bar${span.status === 'error' ? ' error' : ''}`}
              style={{
                left: `${(span.offset_ms / total) * 100}%`,
                width: `${Math.max(0.5, (span.duration_ms / total) * 100)}%`,
              }}
            />
          </span>
          <span className="waterfall-ms">{ms(span.duration_ms)}</span>
        </div>
      ))}
    </div>
  );
}

function PriceEditor({ onSaved }: { onSaved: () => void }) {
  const blocked = useWriteBlocked();
  const [rows, setRows] = useState<[string, ModelPrice][] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    get<PriceTable>(`${API}/settings/prices`)
      .then((table) => setRows(Object.entries(table.prices)))
      .catch((e: unknown) => setMessage((e as Error).message));
  }, []);
  if (!rows) return <p className="muted">{message ?? 'Loading prices…'}</p>;
  const update = (index: number, field: 'model' | keyof ModelPrice, value: string) =>
    setRows(
      rows.map(([model, price], i) =>
        i !== index
          ? [model, price]
          : field === 'model'
            ? [value, price]
            : [model, { ...price, [field]: Number(value) }],
      ),
    );
  const save = async () => {
    try {
      await request('PUT', `${API}/settings/prices`, { prices: Object.fromEntries(rows.filter(([m]) => m !== '')) });
      setMessage('Saved.');
      onSaved();
    } catch (e) {
      setMessage(e instanceof ApiError ? e.message : String(e));
    }
  };
  return (
    <div className="prices">
      <p className="muted">
        USD per million tokens, used where the agent reports no cost itself. A model ending in * covers every model that
        starts with it.
      </p>
      <table className="sessions-table">
        <thead>
          <tr>
            <th>model</th>
            <th>input $/M</th>
            <th>output $/M</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map(([model, price], i) => (
            <tr key={i}>
              <td>
                <input aria-label="model" value={model} onChange={(e) => update(i, 'model', e.target.value)} />
              </td>
              <td>
                <input
                  aria-label="input price"
                  type="number"
                  min={0}
                  step="0.01"
                  value={price.input_per_mtok}
                  onChange={(e) => update(i, 'input_per_mtok', e.target.value)}
                />
              </td>
              <td>
                <input
                  aria-label="output price"
                  type="number"
                  min={0}
                  step="0.01"
                  value={price.output_per_mtok}
                  onChange={(e) => update(i, 'output_per_mtok', e.target.value)}
                />
              </td>
              <td>
                <button className="button" type="button" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="prices-actions">
        <button
          className="button"
          type="button"
          onClick={() => setRows([...rows, ['', { input_per_mtok: 0, output_per_mtok: 0 }]])}
        >
          Add a model
        </button>
        <button className="button primary" type="button" disabled={blocked !== null} onClick={() => void save()}>
          Save prices
        </button>
        {message && <span className="muted">{message}</span>}
      </div>
    </div>
  );
}

function SessionRow({
  session,
  open,
  onToggle,
  onTrace,
}: {
  session: SessionSummary;
  open: boolean;
  onToggle: () => void;
  onTrace: (id: string) => void;
}) {
  return (
    <>
      <tr className={open ? 'selected' : undefined} onClick={onToggle} aria-expanded={open}>
        <td title={session.id}>
          {session.kind === 'trace' ? 'trace ' : ''}
          {session.id.slice(0, 14)}
        </td>
        <td>{session.agent ?? '—'}</td>
        <td>{formatClock(session.started_at)}</td>
        <td>{ms(session.duration_ms)}</td>
        <td>{session.tool_calls}</td>
        <td>{tokens(session.input_tokens)}</td>
        <td>{tokens(session.output_tokens)}</td>
        <td>{usd(session.cost_usd)}</td>
        <td>{session.errors > 0 ? session.errors : ''}</td>
      </tr>
      {open && (
        <tr className="session-detail">
          <td colSpan={9}>
            {session.models.length > 0 ? (
              <table className="sessions-table nested">
                <thead>
                  <tr>
                    <th>model</th>
                    <th>requests</th>
                    <th>tokens in</th>
                    <th>tokens out</th>
                    <th>cost</th>
                  </tr>
                </thead>
                <tbody>
                  {session.models.map((m) => (
                    <tr key={m.model}>
                      <td>{m.model}</td>
                      <td>{m.requests}</td>
                      <td>{tokens(m.input_tokens)}</td>
                      <td>{tokens(m.output_tokens)}</td>
                      <td>{usd(m.cost_usd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="muted">No model usage reported in this session.</p>
            )}
            {session.trace_ids.length > 0 && (
              <p>
                Traces:{' '}
                {session.trace_ids.map((id) => (
                  <button key={id} className="button" type="button" onClick={() => onTrace(id)}>
                    {id.slice(0, 8)}
                  </button>
                ))}
              </p>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

export function SessionsView() {
  const [page, setPage] = useState<SessionsPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [trace, setTrace] = useState<string | null>(null);
  const [showPrices, setShowPrices] = useState(false);
  const load = useCallback(() => {
    get<SessionsPage>(`${API}/sessions`)
      .then((next) => {
        setPage(next);
        setError(null);
      })
      .catch((e: unknown) => setError((e as Error).message));
  }, []);
  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <div className="sessions-view">
      <section className="panel sessions-panel" aria-label="Sessions">
        <h2 className="panel-title">
          Sessions
          <button className="button" type="button" aria-pressed={showPrices} onClick={() => setShowPrices(!showPrices)}>
            Prices
          </button>
        </h2>
        {showPrices && <PriceEditor onSaved={load} />}
        {error && <p className="muted">{error}</p>}
        {page && page.sessions.length === 0 && (
          <p className="muted">
            No agent sessions yet. Point an OpenTelemetry exporter at this server, or run{' '}
            <code>lookout hooks install claude-code</code> (see docs/integrations.md).
          </p>
        )}
        {page && page.sessions.length > 0 && (
          <table className="sessions-table">
            <thead>
              <tr>
                <th>session</th>
                <th>agent</th>
                <th>started</th>
                <th>duration</th>
                <th>tool calls</th>
                <th>tokens in</th>
                <th>tokens out</th>
                <th>cost</th>
                <th>errors</th>
              </tr>
            </thead>
            <tbody>
              {page.sessions.map((session) => (
                <SessionRow
                  key={session.id}
                  session={session}
                  open={open === session.id}
                  onToggle={() => setOpen(open === session.id ? null : session.id)}
                  onTrace={setTrace}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {trace && (
        <section className="panel sessions-panel" aria-label="Trace">
          <h2 className="panel-title">
            Trace
            <button className="button" type="button" onClick={() => setTrace(null)}>
              Close
            </button>
          </h2>
          <Waterfall traceId={trace} />
        </section>
      )}
    </div>
  );
}
