import { useState, useSyncExternalStore } from 'react';
import type { Agent } from '../../src-shared/agents.ts';
import type { Task } from '../../src-shared/tasks.ts';
import type { TaskBoard } from '../model/task-board.ts';
import { formatAge } from '../model/format.ts';
import { useController, useNow, useWriteBlocked } from './hooks.ts';

/** Re-renders on every change of the agents/tasks board. */
export function useTaskBoard(): TaskBoard {
  const { tasks } = useController();
  useSyncExternalStore(tasks.subscribe, () => tasks.version);
  return tasks;
}

const GROUP_LIMIT = 20;

const STATUS_LABEL: Record<Task['status'], string> = {
  running: 'Running',
  queued: 'Queued',
  pending: 'Pending',
  failed: 'Failed',
  timed_out: 'Timed out',
  cancelled: 'Cancelled',
  succeeded: 'Succeeded',
};

function AgentRow({ agent, board }: { agent: Agent; board: TaskBoard }) {
  const controller = useController();
  const current = agent.current_task_id === null ? undefined : board.task(agent.current_task_id);
  return (
    <li className="item agent" data-status={agent.status}>
      <span className={`pill pill-agent-${agent.status}`} title={agent.status_reason ?? agent.status}>
        {agent.status}
      </span>
      <span className="item-main">
        <span className="item-title">{agent.name}</span>
        <span className="item-sub" title={agent.status_reason ?? agent.command.join(' ')}>
          {current ? (
            <button type="button" className="link" onClick={() => controller.selectTask(current.id)}>
              {current.title}
            </button>
          ) : (
            (agent.status_reason ?? agent.command.join(' '))
          )}
        </span>
      </span>
    </li>
  );
}

/** Start, cancel and merge, each disabled (with why) when writes are blocked. */
export function TaskActions({ task, board }: { task: Task; board: TaskBoard }) {
  const controller = useController();
  const blocked = useWriteBlocked();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const free = board.agents.filter((a) => a.current_task_id === null && a.status !== 'offline');
  const [agentId, setAgentId] = useState('');
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const disabled = blocked !== null || busy;
  const chosen = free.find((a) => a.id === agentId) ?? free[0];
  return (
    <span className="task-actions">
      {task.status === 'pending' && (
        <>
          <select
            aria-label={`Agent for ${task.title}`}
            value={chosen?.id ?? ''}
            disabled={disabled || free.length === 0}
            onChange={(e) => setAgentId(e.target.value)}
          >
            {free.length === 0 && <option value="">no free agent</option>}
            {free.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button small"
            disabled={disabled || chosen === undefined}
            title={blocked ?? (chosen ? `Start on ${chosen.name}` : 'No free agent')}
            onClick={() => chosen && run(() => controller.startTask(chosen, task.id))}
          >
            Start
          </button>
        </>
      )}
      {(task.status === 'pending' || task.status === 'queued' || task.status === 'running') && (
        <button
          type="button"
          className="button small"
          disabled={disabled}
          title={blocked ?? 'Cancel (SIGTERM to its process group, then SIGKILL)'}
          onClick={() => run(() => controller.cancelTask(task.id))}
        >
          Cancel
        </button>
      )}
      {task.status === 'succeeded' &&
        (task.merged_at === null ? (
          <button
            type="button"
            className="button small"
            disabled={disabled}
            title={blocked ?? `Merge ${task.git_branch ?? ''} into ${task.base}`}
            onClick={() => run(() => controller.mergeTask(task.id))}
          >
            Merge
          </button>
        ) : (
          <span className="pill pill-done">merged</span>
        ))}
      {error && (
        <span className="item-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

export function AgentsPanel() {
  const board = useTaskBoard();
  return (
    <section className="panel side-panel" aria-label="Agents">
      <h2 className="panel-title">
        Agents
        {board.agents.length > 0 && <span className="panel-count">{board.agents.length}</span>}
      </h2>
      {board.agents.length === 0 ? (
        <p className="muted">
          No agents. <code>lookout agent add NAME --preset claude-code</code> adds one.
        </p>
      ) : (
        <ul className="items">
          {board.agents.map((agent) => (
            <AgentRow key={agent.id} agent={agent} board={board} />
          ))}
        </ul>
      )}
    </section>
  );
}

export function TasksPanel() {
  const board = useTaskBoard();
  const controller = useController();
  const now = useNow(30_000);
  const groups = board.groups();
  return (
    <section className="panel side-panel" aria-label="Tasks">
      <h2 className="panel-title">
        Tasks
        {board.tasks.length > 0 && <span className="panel-count">{board.tasks.length}</span>}
      </h2>
      {groups.length === 0 ? (
        <p className="muted">
          No tasks. <code>lookout task create &quot;TITLE&quot;</code> creates one.
        </p>
      ) : (
        groups.map((group) => (
          <div key={group.status} className="task-group" data-status={group.status}>
            <h3>
              {STATUS_LABEL[group.status]} <span className="muted">{group.tasks.length}</span>
            </h3>
            <ul className="items">
              {group.tasks.slice(0, GROUP_LIMIT).map((task) => (
                <li
                  key={task.id}
                  className={`item task${board.selected?.id === task.id ? ' selected' : ''}`}
                  data-task={task.id}
                >
                  <span className="item-main">
                    <button
                      type="button"
                      className="link item-title"
                      title="Show output and git operations"
                      onClick={() => controller.selectTask(task.id)}
                    >
                      {task.title}
                    </button>
                    <span className="item-sub">
                      {board.agent(task.assigned_agent_id)?.name ?? task.priority}
                      {' · '}
                      {formatAge(task.completed_at ?? task.started_at ?? task.created_at, now)}
                      {task.reason && task.status !== 'succeeded' ? ` · ${task.reason}` : ''}
                    </span>
                  </span>
                  <TaskActions task={task} board={board} />
                </li>
              ))}
            </ul>
            {group.tasks.length > GROUP_LIMIT && (
              <p className="muted more">and {group.tasks.length - GROUP_LIMIT} more</p>
            )}
          </div>
        ))
      )}
    </section>
  );
}
