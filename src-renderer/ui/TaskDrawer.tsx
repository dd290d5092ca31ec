import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useRef } from 'react';
import { API_PREFIX } from '../../src-shared/protocol.ts';
import { formatClock } from '../model/format.ts';
import { useController } from './hooks.ts';
import { CloseIcon } from './icons.tsx';
import { TaskActions, useTaskBoard } from './TasksPanels.tsx';

const LINE_HEIGHT = 18;

/** A task's details: status, branch, diff stat, live output (virtualized), git operations. */
export function TaskDrawer() {
  const controller = useController();
  const board = useTaskBoard();
  const selected = board.selected;
  const task = selected ? board.task(selected.id) : undefined;
  const scrollRef = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const lines = selected?.lines ?? [];
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => LINE_HEIGHT,
    overscan: 20,
  });
  // Stay at the bottom while new lines come, unless the reader scrolled up.
  useLayoutEffect(() => {
    if (following.current && lines.length > 0) virtualizer.scrollToIndex(lines.length - 1, { align: 'end' });
  }, [lines.length, virtualizer]);
  useEffect(() => {
    following.current = true;
  }, [selected?.id]);
  if (!selected) return null;
  const onScroll = () => {
    const el = scrollRef.current;
    if (el) following.current = el.scrollHeight - el.scrollTop - el.clientHeight < LINE_HEIGHT * 2;
  };
  return (
    <aside className="drawer task-drawer" role="dialog" aria-modal="false" aria-labelledby="task-drawer-title">
      <div className="drawer-head">
        <h2 id="task-drawer-title">
          {task?.title ?? 'Task'} <span className="drawer-seq">{selected.id}</span>
        </h2>
        <button
          type="button"
          className="icon-button"
          aria-label="Close task"
          title="Close"
          onClick={() => controller.selectTask(null)}
        >
          <CloseIcon />
        </button>
      </div>
      {task ? (
        <dl className="drawer-meta">
          <dt>Status</dt>
          <dd>
            <span className={`pill pill-task-${task.status}`}>{task.status}</span>
            {task.exit_code !== null && ` exit ${task.exit_code}`}
            {task.reason && task.status !== 'succeeded' && <span className="muted"> {task.reason}</span>}
          </dd>
          <dt>Branch</dt>
          <dd>
            <code>{task.git_branch ?? '—'}</code> <span className="muted">from {task.base}</span>
          </dd>
          {task.diff_stat && (
            <>
              <dt>Changes</dt>
              <dd title={task.diff_stat.files.map((f) => `${f.path} +${f.insertions} −${f.deletions}`).join('\n')}>
                {task.diff_stat.files_changed} files, <span className="diff-plus">+{task.diff_stat.insertions}</span>{' '}
                <span className="diff-minus">−{task.diff_stat.deletions}</span>
              </dd>
            </>
          )}
          {task.merged_at && (
            <>
              <dt>Merged</dt>
              <dd>
                <code>{task.merge_sha?.slice(0, 12)}</code> {formatClock(task.merged_at)}
              </dd>
            </>
          )}
        </dl>
      ) : null}
      {task ? (
        <div className="drawer-actions">
          <TaskActions task={task} board={board} />
        </div>
      ) : (
        <p className="drawer-missing">This task is gone.</p>
      )}
      <h3 className="drawer-subtitle">
        Output{' '}
        <a
          className="muted"
          href={`${API_PREFIX}/tasks/${encodeURIComponent(selected.id)}/output`}
          target="_blank"
          rel="noreferrer"
        >
          full log
        </a>
      </h3>
      {selected.dropped > 0 && <p className="muted">{selected.dropped} earlier lines are in the full log.</p>}
      <div className="task-output" ref={scrollRef} onScroll={onScroll} aria-label="Task output" tabIndex={0}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => (
            <div
              key={item.key}
              className="task-output-line"
              style={{ position: 'absolute', top: 0, transform: `translateY(${item.start}px)`, height: LINE_HEIGHT }}
            >
              {lines[item.index]}
            </div>
          ))}
        </div>
      </div>
      <h3 className="drawer-subtitle">Git operations</h3>
      {selected.gitOperations.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <table className="git-ops" aria-label="Git operations">
          <tbody>
            {selected.gitOperations.map((op) => (
              <tr key={op.id} data-status={op.status} title={op.error_message ?? op.args.join(' ')}>
                <td>{op.operation_type}</td>
                <td>{op.status}</td>
                <td>
                  <code>{op.commit_sha?.slice(0, 7) ?? ''}</code>
                </td>
                <td className="num">{op.duration_ms} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}
