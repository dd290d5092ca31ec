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

export const MAX_ARG_LENGTH = 4096;
/** Longest task timeout: a day. */
export const MAX_TIMEOUT_S = 86_400;

// Every rule below is a pattern, not a refinement, so /openapi.json states it exactly and
// a client can check a body before sending it; the error functions say which rule failed.
const NO_NUL = /^[^\0]*$/;
const noNul = (what: string) =>
  z
    .string()
    .max(MAX_ARG_LENGTH, { error: `${what} is at most ${MAX_ARG_LENGTH} characters` })
    .regex(NO_NUL, { error: `${what} must not contain a NUL character` });

/**
 * The program is a name looked up on PATH (`claude`) or an absolute path
 * (`/usr/bin/node`). A relative path would depend on the sandbox's layout, and `..`
 * segments hide where a program really is: both are refused, as are surrounding spaces.
 */
export const PROGRAM_PATTERN = /^(?!\s)(?!.*\s$)(?!.*(?:^|\/)\.\.(?:\/|$))(?:[^/\0]+|\/[^\0]*)$/;

export function programProblem(program: string): string | undefined {
  if (program === '') return 'must not be empty';
  if (program.includes('\0')) return 'must not contain a NUL character';
  if (program.trim() !== program) return 'must not start or end with spaces';
  if (program.includes('/') && !program.startsWith('/'))
    return 'is a name on PATH (claude) or an absolute path (/usr/bin/node), not a relative path';
  if (program.split('/').includes('..')) return 'must not contain .. segments';
  return undefined;
}

export const ProgramName = z
  .string({ error: 'command needs at least the program, a string, e.g. ["claude", "-p", "{prompt}"]' })
  .max(MAX_ARG_LENGTH, { error: `the program is at most ${MAX_ARG_LENGTH} characters` })
  .regex(PROGRAM_PATTERN, {
    error: (issue) => `the program (command[0]) ${programProblem(String(issue.input)) ?? 'is not valid'}`,
  });

export const AgentCommand = z
  .tuple([ProgramName], noNul('an argument'), {
    error: (issue) =>
      issue.code === 'too_small'
        ? 'command needs at least the program, e.g. ["claude", "-p", "{prompt}"]'
        : 'command is an argv array of strings, e.g. ["claude", "-p", "{prompt}"]',
  })
  .describe('argv: the program (a name on PATH or an absolute path), then its arguments');

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Names the runner sets itself: an agent cannot override who it says it is. */
export const RESERVED_ENV_PREFIX = 'LOOKOUT_';
const ENV_KEY_PATTERN = /^(?![Ll][Oo][Oo][Kk][Oo][Uu][Tt]_)[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export const AgentEnv = z.record(
  z.string().regex(ENV_KEY_PATTERN, {
    error: (issue) =>
      String(issue.input).toUpperCase().startsWith(RESERVED_ENV_PREFIX)
        ? `${String(issue.input)}: names starting with ${RESERVED_ENV_PREFIX} are set by Lookout itself`
        : `environment name ${JSON.stringify(issue.input)}: letters, digits and _, not starting with a digit`,
  }),
  noNul('an environment value'),
  {
    // zod reports a bad key as "Invalid key in record"; say which key and why.
    error: (issue) =>
      issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? 'invalid environment name') : undefined,
  },
);

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

export const PRESET_IDS = ['claude-code', 'codex', 'aider', 'gemini-cli'] as const;

/**
 * An OpenAI-compatible base URL (`…/v1`): http or https, no credentials or query in it —
 * a key belongs in the environment variable `api_key_env` names, never in the registry.
 */
export const MODEL_BASE_URL_PATTERN = /^https?:\/\/(?![^/?#]*@)[^\s/?#]+(?:\/[^\s?#]*)?$/;

/**
 * How an agent speaks through an OpenAI-compatible chat completions endpoint (Ollama,
 * LM Studio, llama.cpp's server, vLLM, hosted services). Only the NAME of the variable
 * holding the key is stored; its value is read when a request is made.
 */
export const AgentModel = z.strictObject({
  base_url: z
    .string({ error: 'model.base_url is the endpoint, e.g. http://127.0.0.1:11434/v1' })
    .max(2048)
    .regex(MODEL_BASE_URL_PATTERN, {
      error:
        'model.base_url is an http(s) URL without credentials, query or fragment, e.g. http://127.0.0.1:11434/v1 (put a key in the variable api_key_env names)',
    }),
  model: z
    .string({ error: 'model.model names the model, e.g. llama3.2' })
    .min(1, { error: 'model.model must not be empty' })
    .max(256)
    .regex(/^[^\0\s]+$/, { error: 'model.model has no spaces or NUL characters' }),
  api_key_env: z
    .string()
    .regex(ENV_KEY_PATTERN, {
      error:
        'model.api_key_env names an environment variable (letters, digits and _, not starting with a digit or LOOKOUT_), e.g. OPENAI_API_KEY',
    })
    .optional(),
  /** The system prompt: who this agent is in a discussion. */
  system: z.string().max(16_000, { error: 'model.system is at most 16000 characters' }).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().min(1).max(1_000_000).optional(),
});
export type AgentModel = z.infer<typeof AgentModel>;

const agentFields = {
  name,
  role: role.default('coder'),
  env: AgentEnv.optional(),
  pass_env: PassEnv.optional(),
  timeout_s: timeout.optional(),
  provider: SandboxProviderName.default('worktree'),
  /** Container provider only: the image and whether the network is reachable. */
  image: ContainerImage.optional(),
  network: z.boolean().default(false),
  /** Speaks in discussions through an OpenAI-compatible endpoint (see AgentModel). */
  model: AgentModel.optional(),
};

/** A command, or a preset (see GET /api/v1/agents/presets): one of the two, never both. */
export const AgentCreate = z.union(
  [
    z.strictObject({ ...agentFields, command: AgentCommand }),
    z.strictObject({ ...agentFields, preset: z.enum(PRESET_IDS) }),
    // No command: a model agent, or an external one (answers discussions through the API).
    // `never` rather than leaving the keys out: an unknown key would not abort this branch,
    // and zod would then report only its "unrecognized key" for a bad command.
    z.strictObject({ ...agentFields, command: z.never().optional(), preset: z.never().optional() }),
  ],
  {
    // zod says only "Invalid input" when no branch fits: say which rule, from the branch meant.
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const input: object = typeof issue.input === 'object' && issue.input !== null ? issue.input : {};
      const hasPreset = 'preset' in input;
      const hasCommand = 'command' in input;
      if (hasPreset && hasCommand) return 'give either command or preset, not both';
      const first = issue.errors[hasPreset ? 1 : hasCommand ? 0 : 2]?.[0];
      if (!first) return undefined;
      const where = first.path.map(String).join('.');
      return where ? `${where}: ${first.message}` : first.message;
    },
  },
);
export type AgentCreate = z.infer<typeof AgentCreate>;

export const AgentUpdate = z.strictObject({
  name: name.optional(),
  role: role.optional(),
  /** null removes it: the agent then speaks through its model, or is external. */
  command: AgentCommand.nullable().optional(),
  env: AgentEnv.optional(),
  pass_env: PassEnv.optional(),
  timeout_s: timeout.nullable().optional(),
  provider: SandboxProviderName.optional(),
  image: ContainerImage.nullable().optional(),
  network: z.boolean().optional(),
  /** null removes it (the agent then speaks through its command, or is external). */
  model: AgentModel.nullable().optional(),
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
  /** The OpenAI-compatible endpoint it speaks through in discussions; null when none. */
  model: AgentModel.nullable(),
  /** How it speaks in discussions: its model, its command, or external (it answers through the API). */
  speaker: z.enum(['model', 'command', 'external']),
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
