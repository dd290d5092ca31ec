import type { Agent } from '../../src-shared/agents.ts';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { type GitOperation, type Task, type TaskStatus, TASK_STATUSES } from '../../src-shared/tasks.ts';
import { VersionedModel } from './versioned-model.ts';

/** Lines of a task's output the detail view holds; older ones stay in the log file. */
export const MAX_OUTPUT_LINES = 50_000;

/** The order task groups are shown in: what needs attention first. */
export const TASK_GROUPS: readonly TaskStatus[] = [
  'running',
  'queued',
  'pending',
  'failed',
  'timed_out',
  'cancelled',
  'succeeded',
];

export interface SelectedTask {
  id: string;
  /** Output lines held (the newest MAX_OUTPUT_LINES), and how many older ones were dropped. */
  lines: string[];
  dropped: number;
  /** Byte offset of the log read so far (the next `?offset=`). */
  offset: number;
  /** A partial last line waiting for its newline. */
  partial: string;
  gitOperations: GitOperation[];
}

export interface BoardEffects {
  /** Agents or tasks changed: reload the lists. */
  reloadLists: boolean;
  /** The selected task printed or changed: read more of its output. */
  readOutput: boolean;
  /** A git operation of the selected task completed. */
  reloadGitOperations: boolean;
}

/**
 * Agents and tasks for the dashboard: the lists as the server last gave them, and the task
 * open in the detail view with its output (read exactly, by byte offset, from the log the
 * server keeps; `task.output` events only say when to read more) and its git operations.
 */
export class TaskBoard extends VersionedModel {
  agents: Agent[] = [];
  tasks: Task[] = [];
  selected: SelectedTask | null = null;
  loaded = false;

  setLists(agents: Agent[], tasks: Task[]): void {
    this.agents = agents;
    this.tasks = tasks;
    this.loaded = true;
    this.changed();
  }

  task(id: string): Task | undefined {
    return this.tasks.find((t) => t.id === id);
  }

  agent(id: string | null): Agent | undefined {
    return id === null ? undefined : this.agents.find((a) => a.id === id);
  }

  /** Tasks by status, in TASK_GROUPS order; empty groups left out. */
  groups(): { status: TaskStatus; tasks: Task[] }[] {
    return TASK_GROUPS.map((status) => ({ status, tasks: this.tasks.filter((t) => t.status === status) })).filter(
      (group) => group.tasks.length > 0,
    );
  }

  select(id: string | null): void {
    this.selected = id === null ? null : { id, lines: [], dropped: 0, offset: 0, partial: '', gitOperations: [] };
    this.changed();
  }

  /** Appends what the log held from `offset` on (ignored if the selection moved or the offset is stale). */
  appendOutput(id: string, offset: number, text: string, next: number): void {
    const selected = this.selected;
    if (!selected || selected.id !== id || selected.offset !== offset) return;
    const parts = (selected.partial + text).split('\n');
    selected.partial = parts.pop() ?? '';
    selected.lines.push(...parts);
    if (selected.lines.length > MAX_OUTPUT_LINES) {
      const extra = selected.lines.length - MAX_OUTPUT_LINES;
      selected.lines.splice(0, extra);
      selected.dropped += extra;
    }
    selected.offset = next;
    this.changed();
  }

  setGitOperations(id: string, operations: GitOperation[]): void {
    if (this.selected?.id !== id) return;
    this.selected.gitOperations = operations;
    this.changed();
  }

  /** What the controller should fetch after these events. */
  effects(events: readonly EventEnvelope[]): BoardEffects {
    const effects: BoardEffects = { reloadLists: false, readOutput: false, reloadGitOperations: false };
    const selected = this.selected?.id;
    for (const event of events) {
      const ns = event.type.slice(0, event.type.indexOf('.'));
      if (event.type === 'task.output') {
        if (event.data.task_id === selected) effects.readOutput = true;
      } else if (ns === 'agent' || ns === 'task' || ns === 'sandbox') {
        effects.reloadLists = true;
        if (event.data.task_id === selected && event.type === 'task.status_changed') effects.readOutput = true;
      } else if (event.type === 'git.operation_completed' && event.data.task_id === selected) {
        effects.reloadGitOperations = true;
      }
    }
    return effects;
  }
}

export const isTaskStatus = (value: string): value is TaskStatus =>
  (TASK_STATUSES as readonly string[]).includes(value);
