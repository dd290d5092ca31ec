import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { LookoutError } from '../errors.ts';
import {
  type ClaudeScope,
  claudeSettingsFile,
  HOOK_MARK,
  installClaudeHooks,
  uninstallClaudeHooks,
} from '../ingest/claude-settings.ts';
import { installGitHooks, uninstallGitHooks } from '../ingest/git-hooks.ts';
import { shellQuote } from '../ingest/settings-file.ts';
import { findWorkspace } from './connection.ts';
import { hookEmitMain } from './hook-emit.ts';
import { CliError, reportAndExit } from './output.ts';

/** bin/lookout.js of this installation (works from src-main/ and dist/src-main/). */
function lookoutBin(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'bin', 'lookout.js');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new CliError('cannot find bin/lookout.js above this installation');
  }
}

/**
 * How a hook starts this very Lookout: this Node and this bin/lookout.js by absolute
 * path, so a hook works whatever PATH the agent or git runs it with, and skips npx.
 */
export const lookoutCommand = (): string => [process.execPath, lookoutBin()].map(shellQuote).join(' ');

type Target = 'claude-code' | 'git';
const TARGETS: readonly Target[] = ['claude-code', 'git'];

interface HookOptions {
  project?: boolean;
  user?: boolean;
  repo?: string;
}

function target(value: string): Target {
  if (!TARGETS.includes(value as Target)) throw new CliError(`unknown hook target ${value}: use claude-code or git`, 2);
  return value as Target;
}

function claudeScope(options: HookOptions): ClaudeScope {
  if (options.project && options.user) throw new CliError('give --project or --user, not both', 2);
  return options.user ? 'user' : 'project';
}

function run(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (error instanceof LookoutError) reportAndExit(new CliError(error.message));
    if ((error as NodeJS.ErrnoException).code) {
      reportAndExit(new CliError(`${(error as Error).message}; nothing else was changed`));
    }
    reportAndExit(error);
  }
}

function install(kind: Target, options: HookOptions, cmd: Command): void {
  const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace, { mustExist: false });
  if (kind === 'claude-code') {
    const scope = claudeScope(options);
    const file = claudeSettingsFile(scope, { project: workspace });
    // A project's hooks name the workspace; a user's find it from where Claude Code runs.
    const where = scope === 'project' ? ` --workspace ${shellQuote(workspace)}` : '';
    const result = installClaudeHooks(file, `${lookoutCommand()} ${HOOK_MARK}${where}`);
    process.stdout.write(
      result.changed
        ? `installed Lookout's Claude Code hooks in ${file}\n`
        : `Lookout's Claude Code hooks were already installed in ${file}\n`,
    );
    return;
  }
  const repo = path.resolve(options.repo ?? workspace);
  for (const result of installGitHooks(repo, lookoutCommand())) {
    process.stdout.write(`${result.hook}: ${result.action} (${result.file})\n`);
  }
}

function uninstall(kind: Target, options: HookOptions, cmd: Command): void {
  const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace, { mustExist: false });
  if (kind === 'claude-code') {
    const file = claudeSettingsFile(claudeScope(options), { project: workspace });
    const result = uninstallClaudeHooks(file);
    process.stdout.write(
      result.changed ? `removed Lookout's Claude Code hooks from ${file}\n` : `no Lookout hooks in ${file}\n`,
    );
    return;
  }
  for (const result of uninstallGitHooks(path.resolve(options.repo ?? workspace))) {
    process.stdout.write(`${result.hook}: ${result.action} (${result.file})\n`);
  }
}

export function registerHooks(program: Command): void {
  const hooks = program
    .command('hooks')
    .description('install hooks that report Claude Code sessions and git operations to Lookout');
  const addOptions = (command: Command) =>
    command
      .option('--project', "claude-code: the project's .claude/settings.json (the default)")
      .option('--user', 'claude-code: your ~/.claude/settings.json, for every project')
      .option('--repo <dir>', 'git: the repository (default: the workspace)')
      .option('-w, --workspace <dir>', 'the Lookout workspace (default: nearest with .lookout/, else here)');
  addOptions(
    hooks
      .command('install')
      .description('merge Lookout hooks into Claude Code settings or a git repository (idempotent)')
      .argument('<target>', 'claude-code or git'),
  ).action((kind: string, options: HookOptions, cmd: Command) => run(() => install(target(kind), options, cmd)));
  addOptions(
    hooks
      .command('uninstall')
      .description('remove exactly what install added (the original file comes back when nothing else changed)')
      .argument('<target>', 'claude-code or git'),
  ).action((kind: string, options: HookOptions, cmd: Command) => run(() => uninstall(target(kind), options, cmd)));
  hooks
    .command('emit')
    .description('what the installed hooks run: publish one hook input (Claude Code: JSON on stdin); always exits 0')
    .argument('<source>', 'claude-code, or git')
    .argument('[args...]', 'git: the hook name and its arguments')
    .option('-w, --workspace <dir>', 'the Lookout workspace (default: found from the hook’s directory)')
    .allowUnknownOption()
    .action(async (source: string, args: string[], _options: unknown, cmd: Command) => {
      const workspace = cmd.optsWithGlobals<{ workspace?: string }>().workspace;
      await hookEmitMain([source, ...args, ...(workspace ? ['--workspace', workspace] : [])]);
    });
}
