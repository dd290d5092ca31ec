import { type ReactNode, useState } from 'react';
import type { Commitment, Priority, StateDocument } from '../../src-shared/state.ts';
import { formatAge, formatCount, formatWhen } from '../model/format.ts';
import { namespaceClass } from './ActivityPanel.tsx';
import { useController, useDashboard, useNow, useWriteBlocked } from './hooks.ts';
import { CheckIcon } from './icons.tsx';
import { AgentsPanel, TasksPanel } from './TasksPanels.tsx';

/** Longer lists are cut here: the side column is a glance, and the DOM stays small. */
const PANEL_LIMIT = 30;
/** The sparkline spans the activity it has seen, in whole minutes from one to five. */
const SPARK_MAX_SECONDS = 300;
const SPARK_MIN_SECONDS = 60;

function sparkSpan(series: readonly number[]): number {
  const first = series.findIndex((n) => n > 0);
  if (first === -1) return SPARK_MIN_SECONDS;
  const seen = series.length - first;
  return Math.min(SPARK_MAX_SECONDS, Math.max(SPARK_MIN_SECONDS, Math.ceil(seen / 60) * 60));
}

function Panel({
  title,
  count,
  children,
  label,
}: {
  title: string;
  count?: number;
  children: ReactNode;
  label?: string;
}) {
  return (
    <section className="panel side-panel" aria-label={label ?? title}>
      <h2 className="panel-title">
        {title}
        {count !== undefined && count > 0 && <span className="panel-count">{formatCount(count)}</span>}
      </h2>
      {children}
    </section>
  );
}

function More({ total }: { total: number }) {
  return total > PANEL_LIMIT ? <p className="muted more">and {formatCount(total - PANEL_LIMIT)} more</p> : null;
}

/** A filled area path of per-second counts, scaled into a w×h box. */
function sparkPath(values: readonly number[], w: number, h: number, max: number): { line: string; area: string } {
  if (values.length === 0) return { line: '', area: '' };
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const y = (v: number) => (h - 1 - (v / max) * (h - 2)).toFixed(1);
  let line = '';
  values.forEach((v, i) => {
    line += `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)} ${y(v)}`;
  });
  return { line, area: `${line}L${w} ${h}L0 ${h}Z` };
}

export function ActivityChart() {
  const { rates, app } = useController();
  const now = useNow(1000);
  const lastFive = rates.series(now, SPARK_MAX_SECONDS);
  const span = sparkSpan(lastFive);
  const series = lastFive.slice(lastFive.length - span);
  const minutes = span / 60;
  const current = series[series.length - 1] ?? 0;
  const peak = Math.max(0, ...series);
  const total = lastFive.reduce((a, b) => a + b, 0);
  const breakdown = rates.byNamespace(now);
  const biggest = breakdown[0]?.count ?? 1;
  const { line, area } = sparkPath(series, 300, 48, Math.max(peak, 1));
  return (
    <Panel title="Activity" label="Activity rate">
      <div className="rate-figures">
        <span>
          <strong>{formatCount(current)}</strong>/s now
        </span>
        <span>peak {formatCount(peak)}/s</span>
        <span>{formatCount(total)} in 5 min</span>
      </div>
      <svg
        className="sparkline"
        viewBox="0 0 300 48"
        preserveAspectRatio="none"
        role="img"
        aria-label={`Events per second over the last ${minutes === 1 ? 'minute' : `${minutes} minutes`}: now ${current}, peak ${peak}`}
      >
        <path className="sparkline-area" d={area} />
        <path className="sparkline-line" d={line} vectorEffect="non-scaling-stroke" />
      </svg>
      <div className="sparkline-axis" aria-hidden>
        <span>−{minutes} min</span>
        <span>now</span>
      </div>
      {breakdown.length > 0 ? (
        <ul className="breakdown" aria-label="Events by namespace, last 5 minutes">
          {breakdown.slice(0, 10).map(({ namespace, count }) => (
            <li key={namespace} className={namespaceClass(namespace)}>
              <button
                type="button"
                className="breakdown-row"
                title={`Show only ${namespace}.*`}
                onClick={() => app.dispatch({ type: 'filter-text', text: `${namespace}.*` })}
              >
                <span className="breakdown-name">{namespace}</span>
                <span className="breakdown-bar">
                  <span style={{ width: `${Math.max(2, (count / biggest) * 100)}%` }} />
                </span>
                <span className="breakdown-count">{formatCount(count)}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No events in the last 5 minutes.</p>
      )}
    </Panel>
  );
}

function byRank(a: Priority, b: Priority): number {
  return (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER);
}

function PriorityRow({ priority, blocked }: { priority: Priority; blocked: string | null }) {
  const controller = useController();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const approve = async () => {
    setBusy(true);
    setError(null);
    try {
      await controller.runCommand({ action: 'approve', target: priority.id });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li className="item priority" data-status={priority.status}>
      <span className="item-id">{priority.id}</span>
      <span className="item-main">
        <span className="item-title">{priority.title}</span>
        {(priority.owner || error) && (
          <span className={error ? 'item-error' : 'item-sub'}>{error ?? priority.owner}</span>
        )}
      </span>
      {priority.status === 'open' ? (
        <button
          type="button"
          className="button small"
          disabled={blocked !== null || busy}
          title={blocked ?? `Approve ${priority.id} (approve ${priority.id})`}
          aria-label={`Approve ${priority.id}`}
          onClick={approve}
        >
          <CheckIcon />
          Approve
        </button>
      ) : (
        <span className={`pill pill-${priority.status}`}>{priority.status}</span>
      )}
    </li>
  );
}

function PrioritiesPanel({ priorities }: { priorities: StateDocument['priorities'] }) {
  const blocked = useWriteBlocked();
  const sorted = [...priorities].sort(byRank);
  const open = priorities.filter((p) => p.status === 'open').length;
  return (
    <Panel title="Priorities" count={open} label="Priorities">
      {sorted.length === 0 ? (
        <p className="muted">No priorities. Set them with PUT /api/v1/state/priorities.</p>
      ) : (
        <ul className="items">
          {sorted.slice(0, PANEL_LIMIT).map((p) => (
            <PriorityRow key={p.id} priority={p} blocked={blocked} />
          ))}
        </ul>
      )}
      <More total={sorted.length} />
    </Panel>
  );
}

function isOverdue(due: string | null | undefined, now: number): boolean {
  if (!due) return false;
  const at = /^\d{4}-\d{2}-\d{2}$/.test(due) ? new Date(`${due}T23:59:59`).getTime() : Date.parse(due);
  return !Number.isNaN(at) && at < now;
}

function CommitmentList({ title, items, now }: { title: string; items: readonly Commitment[]; now: number }) {
  return (
    <div className="commitments-group">
      <h3>
        {title} <span className="muted">{items.length}</span>
      </h3>
      {items.length === 0 ? (
        <p className="muted">Nothing.</p>
      ) : (
        <ul className="items">
          {items.slice(0, PANEL_LIMIT).map((c) => (
            <li key={c.id} className="item commitment">
              <span className="item-id">{c.id}</span>
              <span className="item-main">
                <span className="item-title">{c.text}</span>
                <span className="item-sub">
                  {c.counterparty}
                  {c.due && (
                    <span className={isOverdue(c.due, now) ? 'due overdue' : 'due'}>
                      {' · '}
                      {isOverdue(c.due, now) ? 'overdue, ' : 'due '}
                      {formatWhen(c.due, new Date(now))}
                    </span>
                  )}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
      <More total={items.length} />
    </div>
  );
}

function CommitmentsPanel({ commitments }: { commitments: StateDocument['commitments'] }) {
  const now = useNow(60_000);
  return (
    <Panel title="Commitments" label="Commitments">
      <CommitmentList title="I owe" items={commitments.owe} now={now} />
      <CommitmentList title="Owed to me" items={commitments.owed} now={now} />
    </Panel>
  );
}

function CalendarPanel({ calendar }: { calendar: StateDocument['calendar'] }) {
  const now = useNow(60_000);
  const upcoming = calendar
    .filter((c) => Date.parse(c.end ?? c.start) >= now)
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  return (
    <Panel title="Upcoming" count={upcoming.length} label="Calendar">
      {upcoming.length === 0 ? (
        <p className="muted">Nothing scheduled.</p>
      ) : (
        <ul className="items">
          {upcoming.slice(0, PANEL_LIMIT).map((c) => {
            const live = Date.parse(c.start) <= now;
            return (
              <li key={c.id} className="item calendar">
                <span className={live ? 'when now' : 'when'}>{live ? 'Now' : formatWhen(c.start, new Date(now))}</span>
                <span className="item-main">
                  <span className="item-title">{c.title}</span>
                  <span className="item-sub">
                    {c.kind} · {c.id}
                  </span>
                </span>
              </li>
            );
          })}
        </ul>
      )}
      <More total={upcoming.length} />
    </Panel>
  );
}

function BriefPanel({ brief }: { brief: StateDocument['active_brief'] }) {
  const now = useNow(60_000);
  return (
    <Panel title="Active brief" label="Active brief">
      {brief ? (
        <div className="brief">
          <p className="brief-target">
            <span className="item-id">{brief.target}</span>
            <span className="muted">set {formatAge(brief.created_at, now)}</span>
          </p>
          <p className="brief-summary">{brief.summary}</p>
        </div>
      ) : (
        <p className="muted">
          No active brief. <code>brief P7</code> in the command bar sets one.
        </p>
      )}
    </Panel>
  );
}

export function SidePanels() {
  const state = useDashboard((s) => s.state);
  return (
    <div className="side">
      <ActivityChart />
      <AgentsPanel />
      <TasksPanel />
      {state === null ? (
        <Panel title="State">
          <p className="muted">Loading the state document…</p>
        </Panel>
      ) : (
        <>
          <PrioritiesPanel priorities={state.priorities} />
          <BriefPanel brief={state.active_brief} />
          <CalendarPanel calendar={state.calendar} />
          <CommitmentsPanel commitments={state.commitments} />
        </>
      )}
    </div>
  );
}
