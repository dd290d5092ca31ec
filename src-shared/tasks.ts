import { z } from 'zod';
import { SandboxProviderName } from './agents.ts';
import { integerParam, MAX_TEXT_INTEGER } from './non-negative-integer.ts';

/**
 * Wire shapes of tasks, sandboxes and git operations (CONTRACT Part 2). A task runs one
 * agent's program in a sandbox on branch `lookout/task-<id>`.
 */

export const TASK_STATUSES = ['pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export const TaskStatus = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** Statuses a task never leaves. */
export const FINAL_TASK_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];
export const isFinalTaskStatus = (status: TaskStatus): boolean => FINAL_TASK_STATUSES.includes(status);

/** Every move the state machine allows; anything else is a bug (or a 409 for a client). */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ['queued', 'running', 'cancelled'],
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled', 'timed_out'],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
};

export const TASK_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export const TaskPriority = z.enum(TASK_PRIORITIES);
export type TaskPriority = z.infer<typeof TaskPriority>;

/** The branch a task's sandbox works on. */
export const taskBranch = (taskId: string): string => `lookout/task-${taskId}`;

/** Longest description: a prompt is passed as one argv element ({prompt}) or a file ({prompt_file}). */
export const MAX_DESCRIPTION_LENGTH = 256 * 1024;

/**
 * A git ref as `git check-ref-format` allows it (branch, tag, `HEAD`, a commit sha),
 * minus anything that could read as an option (`-x`) or a revision expression. Checked
 * here so a hostile name is a 400 before git ever sees it.
 */
export function refProblem(ref: string): string | undefined {
  if (ref.length === 0) return 'must not be empty';
  if (ref.length > 255) return 'is at most 255 characters';
  if (ref.startsWith('-')) return 'must not start with "-"';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref))
    return 'must not contain spaces, control characters or any of ~ ^ : ? * [ \\';
  if (ref.includes('..')) return 'must not contain ".."';
  if (ref.includes('@{') || ref === '@') return 'must not contain "@{" or be "@"';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//'))
    return 'must not be an absolute path or have empty parts';
  if (ref.endsWith('.')) return 'must not end with "."';
  if (ref.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')))
    return 'must not have a part starting with "." or ending with ".lock"';
  return undefined;
}

/** refProblem as one pattern, so /openapi.json states the rule exactly. */
export const GIT_REF_PATTERN =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a ref may not hold
  /^(?!-)(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*@\{)(?!@$)(?!.*\/$)(?!.*\.$)(?!(?:.*\/)?\.)(?!.*\.lock(?:\/|$))[^\x00-\x20\x7f~^:?*[\\]{1,255}$/;

export const GitRef = z
  .string()
  .regex(GIT_REF_PATTERN, { error: (issue) => `a git ref ${refProblem(String(issue.input)) ?? 'is not valid'}` })
  .describe('a branch, tag or commit sha as git check-ref-format allows it, not starting with "-"');

const timeout = z.number().int().min(1).max(86_400);

export const TaskCreate = z.strictObject({
  // A pattern rather than trim(), so /openapi.json says it: some non-space character.
  title: z.string().max(500).regex(/\S/, { error: 'title must not be empty' }),
  description: z
    .string()
    .max(MAX_DESCRIPTION_LENGTH, {
      error: `description is at most ${MAX_DESCRIPTION_LENGTH} characters (256 KiB); put larger material in the repository and point to it`,
    })
    .default(''),
  priority: TaskPriority.default('medium'),
  /** The commit the sandbox starts from (a branch, tag or sha); default HEAD. */
  base: GitRef.optional(),
  timeout_s: timeout.optional(),
});
export type TaskCreate = z.infer<typeof TaskCreate>;

export const TaskUpdate = z.strictObject({
  title: z.string().max(500).regex(/\S/, { error: 'title must not be empty' }).optional(),
  description: z.string().max(MAX_DESCRIPTION_LENGTH).optional(),
  priority: TaskPriority.optional(),
  base: GitRef.optional(),
  timeout_s: timeout.nullable().optional(),
});
export type TaskUpdate = z.infer<typeof TaskUpdate>;

export const DiffStat = z.object({
  files_changed: z.number().int(),
  insertions: z.number().int(),
  deletions: z.number().int(),
  /** Per file, at most 200 (then `files_truncated`). Binary files count 0/0. */
  files: z.array(z.object({ path: z.string(), insertions: z.number().int(), deletions: z.number().int() })),
  files_truncated: z.boolean(),
});
export type DiffStat = z.infer<typeof DiffStat>;

export const Task = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  status: TaskStatus,
  priority: TaskPriority,
  assigned_agent_id: z.string().nullable(),
  sandbox_id: z.string().nullable(),
  /** The ref asked for, and the commit it named when the sandbox was made. */
  base: z.string(),
  base_sha: z.string().nullable(),
  git_branch: z.string().nullable(),
  pull_request_url: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  /** Why it ended as it did: `exit_code_1`, `cancelled`, `timeout`, `server_restarted`, `runner_lost` (team mode), … */
  reason: z.string().nullable(),
  timeout_s: z.number().int().nullable(),
  /** The sha the task branch ended on (after Lookout committed what the agent left). */
  head_sha: z.string().nullable(),
  diff_stat: DiffStat.nullable(),
  merged_at: z.string().nullable(),
  merge_sha: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  queued_at: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
});
export type Task = z.infer<typeof Task>;

export const TaskList = z.object({ tasks: z.array(Task) });
export type TaskList = z.infer<typeof TaskList>;

/** `status=running,queued`: statuses separated by commas. */
export const TASK_STATUS_LIST_PATTERN = new RegExp(
  `^(?:${TASK_STATUSES.join('|')})(?:,(?:${TASK_STATUSES.join('|')}))*$`,
);

export const TaskListQuery = z.strictObject({
  status: z
    .string()
    .regex(TASK_STATUS_LIST_PATTERN, { error: `status is a comma-separated list of ${TASK_STATUSES.join(', ')}` })
    .optional(),
  agent_id: z.string().max(64).optional(),
});

/** The statuses a `status` query names. */
export const parseStatusList = (value: string | undefined): TaskStatus[] | undefined =>
  value === undefined ? undefined : (value.split(',') as TaskStatus[]);

export const StartTaskBody = z.strictObject({ task_id: z.string().min(1).max(64) });

export const MergeBody = z
  .strictObject({
    /** Also push the base branch to its remote afterwards (when one is configured). */
    push: z.boolean().default(false),
  })
  .default({ push: false });

export const MergeResult = z.object({
  task: Task,
  merge_sha: z.string(),
  base: z.string(),
  /** Whether the base branch's checkout (yours) was fast-forwarded to the merge. */
  checkout_updated: z.boolean(),
  pushed: z.boolean(),
});
export type MergeResult = z.infer<typeof MergeResult>;

export const OutputQuery = z.strictObject({
  /** Byte offset to start from (for following: pass the previous X-Output-Size). */
  offset: integerParam(0, MAX_TEXT_INTEGER).default(0),
});

export const SANDBOX_STATUSES = ['active', 'kept', 'destroyed', 'error'] as const;
export const SandboxStatus = z.enum(SANDBOX_STATUSES);

export const Sandbox = z.object({
  id: z.string(),
  agent_id: z.string().nullable(),
  task_id: z.string().nullable(),
  provider: SandboxProviderName,
  /** active: the agent runs in it; kept: the task ended, the worktree stays for you to look at. */
  status: SandboxStatus,
  path: z.string(),
  branch_name: z.string(),
  created_at: z.string(),
  destroyed_at: z.string().nullable(),
});
export type Sandbox = z.infer<typeof Sandbox>;
export const SandboxList = z.object({ sandboxes: z.array(Sandbox) });

export const GIT_OPERATION_TYPES = [
  'worktree_add',
  'commit',
  'diff_stat',
  'merge',
  'fast_forward',
  'push',
  'branch_delete',
  'worktree_remove',
  'worktree_prune',
] as const;
export const GitOperationType = z.enum(GIT_OPERATION_TYPES);
export type GitOperationType = z.infer<typeof GitOperationType>;

export const GitOperation = z.object({
  id: z.string(),
  sandbox_id: z.string().nullable(),
  task_id: z.string().nullable(),
  operation_type: GitOperationType,
  status: z.enum(['succeeded', 'failed']),
  commit_sha: z.string().nullable(),
  error_message: z.string().nullable(),
  duration_ms: z.number().int(),
  /** The argv given to git (after `git`), for the record. */
  args: z.array(z.string()),
  created_at: z.string(),
});
export type GitOperation = z.infer<typeof GitOperation>;
export const GitOperationList = z.object({ git_operations: z.array(GitOperation) });
export const GitOperationQuery = z.strictObject({
  task_id: z.string().max(64).optional(),
  limit: integerParam(1, 1000).default(200),
});
