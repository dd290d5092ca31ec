import { isDeepStrictEqual } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LookoutError } from '../errors.ts';
import { CLAUDE_HOOK_EVENTS } from './claude-hook-events.ts';
import { readIfExists, writeAtomic } from './settings-file.ts';

/**
 * `lookout hooks install claude-code`: Lookout's hooks merged into Claude Code's
 * settings.json (the project's `.claude/settings.json` or the user's
 * `~/.claude/settings.json`), next to whatever hooks and settings are there.
 *
 * Ours are recognised by their command (it contains HOOK_MARK), so a second install
 * changes nothing and an uninstall removes exactly them. The bytes the file had before
 * the first install are kept in `settings.json.lookout-backup`; uninstall writes them
 * back when nothing else changed since, so the file is restored byte for byte, and
 * otherwise keeps the user's later edits and only takes our entries out.
 */

export const HOOK_MARK = 'hooks emit claude-code';
/** Seconds Claude Code gives the hook (the command itself gives up on the server much sooner). */
export const HOOK_TIMEOUT_S = 5;

/** Hook events that take a tool-name matcher; `*` is every tool. */
const TOOL_EVENTS = new Set(['PreToolUse', 'PostToolUse', 'PostToolUseFailure']);

export type ClaudeScope = 'project' | 'user';

export function claudeSettingsFile(scope: ClaudeScope, options: { project: string; home?: string }): string {
  return scope === 'project'
    ? path.join(options.project, '.claude', 'settings.json')
    : path.join(options.home ?? os.homedir(), '.claude', 'settings.json');
}

export const backupFile = (file: string): string => `${file}.lookout-backup`;

type Json = Record<string, unknown>;
interface MatcherGroup {
  matcher?: string;
  hooks?: { type?: string; command?: string; timeout?: number }[];
}

function parseSettings(bytes: Buffer | undefined, file: string): Json {
  if (bytes === undefined || bytes.toString('utf8').trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new LookoutError(
      'invalid_input',
      `${file} is not valid JSON (${(error as Error).message}); fix it first — nothing was changed`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LookoutError('invalid_input', `${file} is not a JSON object; fix it first — nothing was changed`);
  }
  return value as Json;
}

const isOurs = (hook: { command?: unknown }): boolean =>
  typeof hook.command === 'string' && hook.command.includes(HOOK_MARK);

/** The settings without any of our hooks; empty groups and events that held only ours disappear. */
function withoutOurs(settings: Json): Json {
  const hooks = settings.hooks;
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) return settings;
  const kept: Json = {};
  for (const [event, groups] of Object.entries(hooks as Json)) {
    if (!Array.isArray(groups)) {
      kept[event] = groups;
      continue;
    }
    const remaining: unknown[] = [];
    let hadOurs = false;
    for (const group of groups as MatcherGroup[]) {
      if (!Array.isArray(group?.hooks) || !group.hooks.some(isOurs)) {
        remaining.push(group);
        continue;
      }
      hadOurs = true;
      const others = group.hooks.filter((hook) => !isOurs(hook));
      if (others.length > 0) remaining.push({ ...group, hooks: others });
    }
    // An event list that held only ours goes; one the user left empty stays as it was.
    if (remaining.length > 0 || !hadOurs) kept[event] = remaining;
  }
  const { hooks: _hooks, ...rest } = settings;
  return Object.keys(kept).length > 0 ? { ...rest, hooks: kept } : rest;
}

function withOurs(settings: Json, command: string): Json {
  const base = withoutOurs(settings);
  const hooks = { ...((base.hooks as Json | undefined) ?? {}) };
  for (const event of CLAUDE_HOOK_EVENTS) {
    const group: MatcherGroup = {
      ...(TOOL_EVENTS.has(event) ? { matcher: '*' } : {}),
      hooks: [{ type: 'command', command, timeout: HOOK_TIMEOUT_S }],
    };
    hooks[event] = [...(Array.isArray(hooks[event]) ? (hooks[event] as unknown[]) : []), group];
  }
  return { ...base, hooks };
}

const render = (settings: Json): string => `${JSON.stringify(settings, null, 2)}\n`;

export interface InstallResult {
  file: string;
  changed: boolean;
}

export function installClaudeHooks(file: string, command: string): InstallResult {
  if (!command.includes(HOOK_MARK)) throw new Error(`the hook command must contain "${HOOK_MARK}"`);
  const bytes = readIfExists(file);
  const settings = parseSettings(bytes, file);
  const next = withOurs(settings, command);
  if (isDeepStrictEqual(next, settings)) return { file, changed: false };
  // The backup is of the file as it was without us: a re-install (our hooks already in
  // it, the command moved) keeps the one taken the first time, or none if we created it.
  const pristine = isDeepStrictEqual(withoutOurs(settings), settings);
  if (bytes !== undefined && pristine && !fs.existsSync(backupFile(file))) writeAtomic(backupFile(file), bytes);
  writeAtomic(file, render(next));
  return { file, changed: true };
}

export function uninstallClaudeHooks(file: string): InstallResult {
  const bytes = readIfExists(file);
  const backup = readIfExists(backupFile(file));
  if (bytes === undefined) {
    if (backup !== undefined) fs.rmSync(backupFile(file));
    return { file, changed: false };
  }
  const settings = parseSettings(bytes, file);
  const remaining = withoutOurs(settings);
  const changed = !isDeepStrictEqual(remaining, settings);
  if (backup !== undefined && isDeepStrictEqual(remaining, parseSettings(backup, backupFile(file)))) {
    writeAtomic(file, backup); // nothing else changed since install: the original bytes
  } else if (backup === undefined && Object.keys(remaining).length === 0 && changed) {
    fs.rmSync(file); // we created it, and only our hooks were in it
  } else if (changed) {
    writeAtomic(file, render(remaining));
  }
  if (backup !== undefined) fs.rmSync(backupFile(file));
  return { file, changed };
}

/** Whether our hooks are in the file (for `lookout hooks status`-style reports). */
export function claudeHooksInstalled(file: string): boolean {
  const bytes = readIfExists(file);
  if (bytes === undefined) return false;
  try {
    const settings = parseSettings(bytes, file);
    return !isDeepStrictEqual(withoutOurs(settings), settings);
  } catch {
    return false;
  }
}
