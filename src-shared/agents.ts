import { z } from 'zod';

/**
 * Wire shapes of the agents registry (CONTRACT Part 2, "Agents, tasks, sandboxes, git
 * operations"). An agent is a program started with an argv array, never a shell string.
 */

export const AGENT_STATUSES = ['idle', 'working', 'error', 'offline'] as const;
export const AgentStatus = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof AgentStatus>;

export const SANDBOX_PROVIDERS = ['worktree', 'container'] as const;
export const SandboxProviderName = z.enum(SANDBOX_PROVIDERS);
export type SandboxProviderName = z.infer<typeof SandboxProviderName>;

/** Replaced in every argv element; anything else in braces is passed as written. */
export const COMMAND_PLACEHOLDERS = ['{prompt}', '{prompt_file}', '{workdir}'] as const;

export const MAX_COMMAND_ARGS = 64;
export const MAX_ARG_LENGTH = 4096;
/** Longest task timeout: a day. */
export const MAX_TIMEOUT_S = 86_400;

const noNul = (what: string) =>
  z
    .string()
    .max(MAX_ARG_LENGTH, { error: `${what} is at most ${MAX_ARG_LENGTH} characters` })
    .refine((value) => !value.includes('\0'), { error: `${what} must not contain a NUL character` });

/**
 * The program is a name looked up on PATH (`claude`) or an absolute path
 * (`/usr/bin/node`). A relative path would depend on the sandbox's layout, and `..`
 * segments hide where a program really is: both are refused.
 */
export const ProgramName = noNul('the program')
  .min(1, { error: 'the program (command[0]) must not be empty' })
  .refine((value) => value.trim() === value && value !== '', {
    error: 'the program (command[0]) must not start or end with spaces',
  })
  .refine((value) => !value.includes('/') || value.startsWith('/'), {
    error:
      'the program (command[0]) is a name on PATH (claude) or an absolute path (/usr/bin/node), not a relative path',
  })
  .refine((value) => !value.split('/').includes('..'), {
    error: 'the program (command[0]) must not contain .. segments',
  });

export const AgentCommand = z
  .array(noNul('an argument'), { error: 'command is an argv array of strings, e.g. ["claude", "-p", "{prompt}"]' })
  .min(1, { error: 'command needs at least the program, e.g. ["claude", "-p", "{prompt}"]' })
  .max(MAX_COMMAND_ARGS, { error: `command has at most ${MAX_COMMAND_ARGS} elements` })
  .superRefine((argv, ctx) => {
    const program = ProgramName.safeParse(argv[0]);
    if (!program.success) ctx.addIssue({ code: 'custom', path: [0], message: program.error.issues[0]!.message });
  });

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Names the runner sets itself: an agent cannot override who it says it is. */
export const RESERVED_ENV_PREFIX = 'LOOKOUT_';

// Keys are checked one by one (not as a record key schema) so the error names the key and why.
export const AgentEnv = z.record(z.string(), noNul('an environment value')).superRefine((env, ctx) => {
  const names = Object.keys(env);
  if (names.length > 64) ctx.addIssue({ code: 'custom', message: 'at most 64 environment variables' });
  for (const name of names) {
    if (!ENV_NAME_PATTERN.test(name))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `environment name ${JSON.stringify(name)}: letters, digits and _, not starting with a digit`,
      });
    else if (name.toUpperCase().startsWith(RESERVED_ENV_PREFIX))
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `${name}: names starting with ${RESERVED_ENV_PREFIX} are set by Lookout itself`,
      });
  }
});

/**
 * Names copied from the server's own environment when set (API keys an agent CLI needs);
 * the rest of the server's environment never reaches an agent.
 */
export const PassEnv = z
  .array(
    z
      .string()
      .regex(ENV_NAME_PATTERN, { error: 'an environment name is letters, digits and _, not starting with a digit' }),
  )
  .max(64);

const name = z
  .string()
  .min(1, { error: 'name must not be empty' })
  .max(100, { error: 'name is at most 100 characters' })
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, {
    error: 'name is letters, digits, spaces, ".", "_" or "-", starting with a letter or digit',
  });
const role = z.string().min(1).max(200);
const timeout = z
  .number()
  .int()
  .min(1)
  .max(MAX_TIMEOUT_S, { error: `timeout_s is at most ${MAX_TIMEOUT_S} (a day)` });

/** A container image reference (`node:24`, `ghcr.io/org/img@sha256:…`); no option-like values. */
export const ContainerImage = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, { error: 'image is a container image reference like node:24-slim' });

export const AgentCreate = z.strictObject({
  name,
  role: role.default('coder'),
  /** Either a command or a preset (see GET /api/v1/agents/presets). */
  command: AgentCommand.optional(),
  preset: z.string().min(1).max(64).optional(),
  env: AgentEnv.optional(),
  pass_env: PassEnv.optional(),
  timeout_s: timeout.optional(),
  provider: SandboxProviderName.default('worktree'),
  /** Container provider only: the image and whether the network is reachable. */
  image: ContainerImage.optional(),
  network: z.boolean().default(false),
});
export type AgentCreate = z.infer<typeof AgentCreate>;

export const AgentUpdate = z.strictObject({
  name: name.optional(),
  role: role.optional(),
  command: AgentCommand.optional(),
  env: AgentEnv.optional(),
  pass_env: PassEnv.optional(),
  timeout_s: timeout.nullable().optional(),
  provider: SandboxProviderName.optional(),
  image: ContainerImage.nullable().optional(),
  network: z.boolean().optional(),
});
export type AgentUpdate = z.infer<typeof AgentUpdate>;

export const Agent = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  status: AgentStatus,
  /** Why the agent is offline or in error (its program is not on PATH, …); null otherwise. */
  status_reason: z.string().nullable(),
  current_task_id: z.string().nullable(),
  sandbox_id: z.string().nullable(),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  pass_env: z.array(z.string()),
  timeout_s: z.number().int().nullable(),
  provider: SandboxProviderName,
  image: z.string().nullable(),
  network: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Agent = z.infer<typeof Agent>;

export const AgentList = z.object({ agents: z.array(Agent) });
export type AgentList = z.infer<typeof AgentList>;

export const AgentPreset = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  command: z.array(z.string()),
  program: z.string(),
  pass_env: z.array(z.string()),
  available: z.boolean(),
  /** Why it cannot be used here (its program is not on PATH); null when available. */
  reason: z.string().nullable(),
});
export type AgentPreset = z.infer<typeof AgentPreset>;
export const AgentPresetList = z.object({ presets: z.array(AgentPreset) });
export type AgentPresetList = z.infer<typeof AgentPresetList>;
