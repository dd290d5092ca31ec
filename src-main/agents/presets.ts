import fs from 'node:fs';
import path from 'node:path';
import type { AgentPreset } from '../../src-shared/agents.ts';

interface PresetDefinition {
  id: string;
  name: string;
  description: string;
  command: string[];
  /** API keys the CLI reads; copied from the server's environment when set. */
  pass_env: string[];
}

/**
 * Real agent CLIs in their non-interactive modes. Each gets its prompt as one argv
 * element; none is ever run through a shell. The prompt is a task's title, which anyone
 * with the operator role writes: it follows `--` or is glued to its option
 * (`--message=…`), so a title like `--dangerously-skip-permissions` stays text and can
 * never become a flag of the agent's CLI.
 */
export const PRESETS: readonly PresetDefinition[] = [
  {
    id: 'claude-code',
    name: 'Claude Code',
    description: 'Anthropic Claude Code in print mode, allowed to edit files in its worktree',
    command: ['claude', '-p', '--permission-mode', 'acceptEdits', '--', '{prompt}'],
    pass_env: ['ANTHROPIC_API_KEY'],
  },
  {
    id: 'codex',
    name: 'Codex',
    description: 'OpenAI Codex CLI, non-interactive (codex exec) with workspace-write sandboxing',
    command: ['codex', 'exec', '--full-auto', '--', '{prompt}'],
    pass_env: ['OPENAI_API_KEY'],
  },
  {
    id: 'aider',
    name: 'Aider',
    description: 'Aider with one message, answering yes to its questions',
    command: ['aider', '--yes-always', '--message={prompt}'],
    pass_env: ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'],
  },
  {
    id: 'gemini-cli',
    name: 'Gemini CLI',
    description: 'Google Gemini CLI with one prompt, auto-approving its tool calls',
    command: ['gemini', '--yolo', '--prompt={prompt}'],
    pass_env: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  },
];

export type ProgramLookup = { found: true; file: string } | { found: false; reason: string };

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `program` would be found: an absolute path as is, a name on PATH. */
export function findProgram(program: string, searchPath: string | undefined = process.env.PATH): ProgramLookup {
  if (path.isAbsolute(program)) {
    return isExecutableFile(program)
      ? { found: true, file: program }
      : { found: false, reason: `${program} does not exist or is not an executable file` };
  }
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (dir === '' || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, program);
    if (isExecutableFile(file)) return { found: true, file };
  }
  return { found: false, reason: `${program} is not on PATH; install it or give its absolute path in command[0]` };
}

export function listPresets(searchPath?: string): AgentPreset[] {
  return PRESETS.map((preset) => {
    const program = preset.command[0]!;
    const lookup = findProgram(program, searchPath);
    return {
      ...preset,
      program,
      available: lookup.found,
      reason: lookup.found ? null : lookup.reason,
    };
  });
}

export const findPreset = (id: string): PresetDefinition | undefined => PRESETS.find((preset) => preset.id === id);
