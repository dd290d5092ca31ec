import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LookoutError } from '../errors.ts';
import { readIfExists, writeAtomic } from './settings-file.ts';

/**
 * `lookout hooks install git`: post-commit, post-checkout and post-merge hooks that
 * publish git.* events. A user's own hook is never replaced: in a shell script our
 * lines go right after its first line, between markers (so its own `exit` cannot skip
 * them, and uninstall removes exactly those bytes); a hook in another language is
 * moved aside to `<hook>.lookout-chained` and called from a small shell wrapper that
 * uninstall removes again, moving the original back.
 *
 * Our lines start the publisher in the background and return at once: a commit waits
 * for one fork of the shell, not for Node or the server (bench/git-hook.ts measures it).
 */

export const GIT_HOOKS = ['post-commit', 'post-checkout', 'post-merge'] as const;
export type GitHook = (typeof GIT_HOOKS)[number];

const BEGIN = '# >>> lookout hooks (lookout hooks uninstall git removes this block) >>>';
const END = '# <<< lookout hooks <<<';
const WRAPPER_MARK = '# lookout hooks: wrapper around';
export const CHAINED_SUFFIX = '.lookout-chained';

/** The hooks directory git uses for this repository (honours core.hooksPath). */
export function gitHooksDir(repo: string): string {
  let dir: string;
  try {
    dir = execFileSync('git', ['rev-parse', '--git-path', 'hooks'], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch {
    throw new LookoutError(
      'invalid_input',
      `${repo} is not inside a git repository; run this in one or pass --repo DIR`,
    );
  }
  return path.resolve(repo, dir);
}

/** The block our hook lines live in; `command` is the publisher, run detached. */
export function hookBlock(command: string, hook: GitHook): string {
  return [BEGIN, `(${command} hooks emit git ${hook} "$@" </dev/null >/dev/null 2>&1 &) 2>/dev/null`, END, ''].join(
    '\n',
  );
}

const SHELLS = /^#!\s*(?:\/usr\/bin\/env\s+)?(?:\S*\/)?(?:sh|bash|dash|zsh|ksh)\b/;

export interface GitInstallResult {
  hook: GitHook;
  file: string;
  action: 'created' | 'inserted' | 'wrapped' | 'unchanged' | 'removed' | 'restored' | 'absent';
}

function insertAfterFirstLine(script: string, block: string): string {
  const newline = script.indexOf('\n');
  return newline === -1 ? `${script}\n${block}` : `${script.slice(0, newline + 1)}${block}${script.slice(newline + 1)}`;
}

function installOne(dir: string, hook: GitHook, command: string): GitInstallResult {
  const file = path.join(dir, hook);
  const block = hookBlock(command, hook);
  const existing = readIfExists(file)?.toString('utf8');
  if (existing === undefined) {
    writeAtomic(file, `#!/bin/sh\n${WRAPPER_MARK} nothing (created by lookout)\n${block}`, 0o755);
    return { hook, file, action: 'created' };
  }
  if (existing.includes(BEGIN)) {
    // Already ours: refresh the block if the command moved (a new checkout of Lookout).
    // A function, not a string: a `$&` or `$'` in the command's path must stay literal.
    const updated = existing.replace(new RegExp(`${escape(BEGIN)}[\\s\\S]*?${escape(END)}\\n`), () => block);
    if (updated === existing) return { hook, file, action: 'unchanged' };
    writeAtomic(file, updated);
    return { hook, file, action: 'inserted' };
  }
  if (SHELLS.test(existing)) {
    writeAtomic(file, insertAfterFirstLine(existing, block));
    return { hook, file, action: 'inserted' };
  }
  // Another language: keep it whole under another name and call it from a shell wrapper.
  const chained = `${file}${CHAINED_SUFFIX}`;
  if (fs.existsSync(chained)) {
    throw new LookoutError('conflict', `${chained} already exists; move it away and run the install again`);
  }
  fs.renameSync(file, chained);
  writeAtomic(
    file,
    `#!/bin/sh\n${WRAPPER_MARK} ${hook}${CHAINED_SUFFIX}\n${block}exec "$(dirname "$0")/${hook}${CHAINED_SUFFIX}" "$@"\n`,
    0o755,
  );
  return { hook, file, action: 'wrapped' };
}

function uninstallOne(dir: string, hook: GitHook): GitInstallResult {
  const file = path.join(dir, hook);
  const existing = readIfExists(file)?.toString('utf8');
  if (existing === undefined || !existing.includes(BEGIN)) return { hook, file, action: 'absent' };
  const chained = `${file}${CHAINED_SUFFIX}`;
  if (existing.includes(`${WRAPPER_MARK} ${hook}${CHAINED_SUFFIX}`) && fs.existsSync(chained)) {
    fs.renameSync(chained, file);
    return { hook, file, action: 'restored' };
  }
  if (existing.includes(`${WRAPPER_MARK} nothing (created by lookout)`)) {
    fs.rmSync(file);
    return { hook, file, action: 'removed' };
  }
  writeAtomic(file, existing.replace(new RegExp(`${escape(BEGIN)}[\\s\\S]*?${escape(END)}\\n`), ''));
  return { hook, file, action: 'removed' };
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function installGitHooks(repo: string, command: string): GitInstallResult[] {
  const dir = gitHooksDir(repo);
  fs.mkdirSync(dir, { recursive: true });
  return GIT_HOOKS.map((hook) => installOne(dir, hook, command));
}

export function uninstallGitHooks(repo: string): GitInstallResult[] {
  const dir = gitHooksDir(repo);
  return GIT_HOOKS.map((hook) => uninstallOne(dir, hook));
}
