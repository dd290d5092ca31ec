import fs from 'node:fs';
import path from 'node:path';
import { ServerInfo } from '../src-shared/server-info.ts';
import { StartupError } from './errors.ts';

export const STATE_DIR = '.lookout';

export interface WorkspacePaths {
  root: string;
  stateDir: string;
  database: string;
  serverInfo: string;
  /** The lock directory (proper-lockfile); its holder record is `session.lock.json`. */
  lock: string;
  log: string;
  /** The access-token signing key (0600, created once so sessions outlive restarts). */
  signingKey: string;
}

export function workspacePaths(root: string): WorkspacePaths {
  const stateDir = path.join(root, STATE_DIR);
  return {
    root,
    stateDir,
    database: path.join(stateDir, 'lookout.db'),
    serverInfo: path.join(stateDir, 'server.json'),
    lock: path.join(stateDir, 'session.lock'),
    log: path.join(stateDir, 'lookout.log'),
    signingKey: path.join(stateDir, 'signing.key'),
  };
}

/**
 * Creates `<workspace>/.lookout/` (0700) with a `.gitignore` of `*` so the directory
 * never ends up in the user's repository. Fails with one line saying what is wrong.
 */
export function prepareStateDir(root: string): WorkspacePaths {
  const paths = workspacePaths(root);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new StartupError(`workspace ${root} does not exist; create it or pass --workspace DIR`);
  }
  if (!stat.isDirectory()) {
    throw new StartupError(`workspace ${root} is not a directory; pass --workspace DIR`);
  }
  try {
    fs.mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(paths.stateDir, 0o700);
    const ignore = path.join(paths.stateDir, '.gitignore');
    if (!fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
    fs.accessSync(paths.stateDir, fs.constants.W_OK);
  } catch (error) {
    throw new StartupError(
      `cannot write to ${paths.stateDir} (${(error as NodeJS.ErrnoException).code ?? error}); ` +
        `check the workspace's permissions or pass another --workspace`,
      { cause: error },
    );
  }
  return paths;
}

/** True when a process with this pid exists on this host (EPERM means it exists). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads server.json; undefined when absent or unreadable garbage. */
export function readServerInfo(file: string): ServerInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = ServerInfo.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The running server of a workspace, or undefined when none is (server.json absent or its pid dead). */
export function runningServer(paths: WorkspacePaths): ServerInfo | undefined {
  const info = readServerInfo(paths.serverInfo);
  return info && isPidAlive(info.pid) ? info : undefined;
}

/**
 * Refuses to start when another live server owns this workspace, and clears the
 * leftovers of one that was killed (its pid is gone).
 */
export function claimServerInfo(paths: WorkspacePaths): void {
  const existing = runningServer(paths);
  if (existing && existing.pid !== process.pid) {
    throw new StartupError(
      `a Lookout server (pid ${existing.pid}) is already serving ${paths.root} at ${existing.url}; ` +
        `stop it first, or use it (lookout status)`,
    );
  }
  fs.rmSync(paths.serverInfo, { force: true });
}

/** Writes server.json atomically (temp file + rename) with mode 0600. */
export function writeServerInfo(paths: WorkspacePaths, info: ServerInfo): void {
  const temp = `${paths.serverInfo}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, paths.serverInfo);
}

/** Removes server.json if it is still ours (a successor may have replaced it). */
export function removeServerInfo(paths: WorkspacePaths, token: string): void {
  const existing = readServerInfo(paths.serverInfo);
  if (!existing || existing.token === token) fs.rmSync(paths.serverInfo, { force: true });
}
