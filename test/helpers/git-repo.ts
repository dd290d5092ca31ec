import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tempWorkspace } from './workspace.ts';

export const AGENT_SCRIPT = path.resolve(import.meta.dirname, '../fixtures/agent.mjs');

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  }).trim();
}

/** A temporary workspace that is a git repository on `main` with one commit. */
export function tempRepo(): string {
  const dir = tempWorkspace();
  git(dir, 'init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(dir, 'README.md'), 'hello\n');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'the user is editing this\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'initial');
  return dir;
}

/** What the user's checkout looks like: status, HEAD, and a hash of every file outside .git and .lookout. */
export function checkoutFingerprint(dir: string): { status: string; head: string; files: Record<string, string> } {
  const files: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (rel === '.git' || rel === '.lookout') continue;
      if (entry.isDirectory()) walk(rel);
      else
        files[rel] = crypto
          .createHash('sha256')
          .update(fs.readFileSync(path.join(dir, rel)))
          .digest('hex');
    }
  };
  walk('');
  return {
    status: git(dir, 'status', '--porcelain', '--untracked-files=all'),
    head: git(dir, 'rev-parse', 'HEAD'),
    files,
  };
}
