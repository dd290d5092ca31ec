import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Collector, CollectorContext, CollectorEvent } from './collections.ts';
import { detectRepo, git } from './git.ts';

/**
 * On the first collection every file is new. Up to this many are reported one by one;
 * past it (a big checkout) the first run only records the baseline, so a workspace
 * never floods the event log on first sight. Later runs report every change.
 */
export const FIRST_RUN_EVENT_LIMIT = 1000;
/** A workspace with more files than this outside .gitignore is refused, not scanned. */
export const MAX_FILES = 200_000;
const STAT_CONCURRENCY = 64;
/** Never walked outside git: Lookout's own directory, dependencies, git internals. */
const SKIPPED_DIRS = new Set(['.lookout', 'node_modules', '.git']);

/** path → [size, mtimeMs]: enough to tell a file changed without reading it. */
const FileMemory = z.object({ files: z.record(z.string(), z.tuple([z.number(), z.number()])) });
type Snapshot = Record<string, [number, number]>;

/**
 * File changes since the last collection: `file.created`, `file.modified` and
 * `file.deleted` with the path relative to the workspace (always with `/`). In a git
 * work tree the file list is git's (tracked plus untracked, minus what .gitignore and
 * the other exclude files ignore); elsewhere a plain walk that skips .lookout/,
 * node_modules/ and .git/.
 */
export class FileCollector implements Collector {
  readonly name = 'files';
  readonly weight = 2;

  async collect(context: CollectorContext): Promise<Record<string, unknown>> {
    const { workspace, signal } = context;
    const repo = await detectRepo(workspace, signal);
    const source = repo.kind === 'repo' ? 'git' : 'walk';
    const paths = repo.kind === 'repo' ? await gitFiles(workspace, signal) : await walk(workspace, signal);
    if (paths.length > MAX_FILES) {
      throw new Error(
        `the workspace holds more than ${MAX_FILES} files${source === 'git' ? ' not ignored by .gitignore' : ''}; ignore build output to collect file changes`,
      );
    }
    context.progress(0.2);

    const current: Snapshot = {};
    let done = 0;
    for (let i = 0; i < paths.length; i += STAT_CONCURRENCY) {
      signal.throwIfAborted();
      const chunk = paths.slice(i, i + STAT_CONCURRENCY);
      const stats = await Promise.all(chunk.map((relative) => statFile(path.join(workspace, relative))));
      chunk.forEach((relative, index) => {
        const stat = stats[index];
        if (stat) current[relative] = stat;
      });
      done += chunk.length;
      context.progress(0.2 + 0.7 * (done / paths.length));
    }

    const previous = context.recall(FileMemory)?.files;
    const count = Object.keys(current).length;
    if (!previous && count > FIRST_RUN_EVENT_LIMIT) {
      await context.commit([], { files: current });
      return { source, files: count, baseline: true, created: 0, modified: 0, deleted: 0 };
    }
    const before: Snapshot = previous ?? {};
    const created: CollectorEvent[] = [];
    const modified: CollectorEvent[] = [];
    const deleted: CollectorEvent[] = [];
    for (const [file, [size, mtime]] of Object.entries(current)) {
      const old = before[file];
      if (!old) created.push({ type: 'file.created', data: { path: file, size } });
      else if (old[0] !== size || old[1] !== mtime)
        modified.push({ type: 'file.modified', data: { path: file, size } });
    }
    for (const file of Object.keys(before)) {
      if (!(file in current)) deleted.push({ type: 'file.deleted', data: { path: file } });
    }
    const byPath = (a: CollectorEvent, b: CollectorEvent) => String(a.data.path).localeCompare(String(b.data.path));
    await context.commit([...created.sort(byPath), ...modified.sort(byPath), ...deleted.sort(byPath)], {
      files: current,
    });
    context.progress(1);
    return {
      source,
      files: count,
      baseline: false,
      created: created.length,
      modified: modified.length,
      deleted: deleted.length,
    };
  }
}

const isOwnDir = (relative: string): boolean => relative === '.lookout' || relative.startsWith('.lookout/');

/** Tracked and untracked files, minus ignored ones, relative to `cwd` (git's own list). */
async function gitFiles(cwd: string, signal: AbortSignal): Promise<string[]> {
  const out = await git(cwd, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], signal);
  // A file with merge conflicts is listed once per stage.
  return [...new Set(out.split('\0'))].filter((file) => file !== '' && !isOwnDir(file));
}

/** Every file under `root` except the skipped directories; symlinks are listed, never followed. */
async function walk(root: string, signal: AbortSignal): Promise<string[]> {
  const files: string[] = [];
  const pending = [''];
  while (pending.length > 0) {
    signal.throwIfAborted();
    const dir = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(root, dir), { withFileTypes: true });
    } catch {
      continue; // unreadable or gone since it was listed: nothing to report there
    }
    for (const entry of entries) {
      const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) pending.push(relative);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        files.push(relative);
        if (files.length > MAX_FILES) return files;
      }
    }
  }
  return files;
}

/** [size, mtimeMs] of a file or symlink; undefined for anything else or a file gone meanwhile. */
async function statFile(file: string): Promise<[number, number] | undefined> {
  try {
    const stat = await fs.lstat(file);
    return stat.isFile() || stat.isSymbolicLink() ? [stat.size, stat.mtimeMs] : undefined;
  } catch {
    return undefined;
  }
}
