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

/** Folders under .lookout/ whose entries Lookout creates and writes (never links). */
const WRITTEN_FOLDERS = ['tasks', 'sandboxes'];

/** Every symlink directly in .lookout/ or in the folders Lookout writes into. */
function linksUnder(stateDir: string): string[] {
  const links: string[] = [];
  const scan = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) links.push(file);
      else if (depth === 0 && entry.isDirectory() && WRITTEN_FOLDERS.includes(entry.name)) scan(file, 1);
    }
  };
  scan(stateDir, 0);
  return links;
}

const ownUid = (): number | undefined => process.getuid?.();

/**
 * Refuses a `.lookout` that is a symlink or owned by someone else, and any symlink
 * among the files in it: a cloned repository could ship `.lookout/lookout.log -> ~/.bashrc`
 * and have Lookout append to it. Lookout never follows a link under `.lookout/`.
 */
function checkStateDir(paths: WorkspacePaths): void {
  const stat = fs.lstatSync(paths.stateDir);
  if (stat.isSymbolicLink()) {
    throw new StartupError(
      `refusing to use ${paths.stateDir}: it is a symlink, and Lookout never follows links there; remove it (rm ${paths.stateDir})`,
    );
  }
  if (!stat.isDirectory())
    throw new StartupError(`refusing to use ${paths.stateDir}: it is not a directory; remove it`);
  const uid = ownUid();
  if (uid !== undefined && stat.uid !== uid) {
    throw new StartupError(
      `refusing to use ${paths.stateDir}: it is owned by uid ${stat.uid}, not by you (uid ${uid}); remove it or run as its owner`,
    );
  }
  // Not only the files named above: any link a cloned repository ships (a new file a
  // later version writes, a task log, a worktree folder) could redirect a write.
  const [link] = linksUnder(paths.stateDir);
  if (link !== undefined) {
    throw new StartupError(
      `refusing to start: ${link} is a symlink, and Lookout never follows links under .lookout/; remove it (rm ${link})`,
    );
  }
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
    // mkdir never follows a symlink at the last component; checkStateDir refuses one.
    fs.mkdirSync(paths.stateDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotWrite(paths, error);
  }
  checkStateDir(paths);
  try {
    fs.chmodSync(paths.stateDir, 0o700);
    const ignore = path.join(paths.stateDir, '.gitignore');
    try {
      // wx: O_CREAT|O_EXCL, which never writes through a symlink.
      fs.writeFileSync(ignore, '*\n', { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    fs.accessSync(paths.stateDir, fs.constants.W_OK);
  } catch (error) {
    throw cannotWrite(paths, error);
  }
  return paths;
}

function cannotWrite(paths: WorkspacePaths, error: unknown): StartupError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') {
    return new StartupError(`cannot write to ${paths.stateDir}: no space left on device; free some space`, {
      cause: error,
    });
  }
  return new StartupError(
    `cannot write to ${paths.stateDir} (${code ?? String(error)}); ` +
      `check the workspace's permissions or pass another --workspace`,
    { cause: error },
  );
}

/** Reads a file under .lookout/ without following a symlink (ELOOP for one). */
export function readStateFile(file: string): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
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
    text = readStateFile(file);
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

const VERIFY_TIMEOUT_MS = 2000;

/**
 * True when the server server.json describes really answers: /health on its port says
 * the same started_at. A pid alone can be reused by an unrelated process after a crash.
 */
export async function answersAsLookout(info: ServerInfo): Promise<boolean> {
  try {
    const response = await fetch(`${info.url}/health`, { signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS) });
    if (!response.ok) return false;
    const body = (await response.json()) as { started_at?: unknown };
    return body.started_at === info.started_at;
  } catch {
    return false;
  }
}

/**
 * Refuses to start when another live server owns this workspace, and clears the
 * leftovers of one that is gone: its pid is dead, or the pid now belongs to another
 * process (it does not answer /health with the recorded started_at).
 */
export async function claimServerInfo(paths: WorkspacePaths): Promise<void> {
  const existing = runningServer(paths);
  if (existing && (await answersAsLookout(existing))) {
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
  fs.rmSync(temp, { force: true });
  // wx (O_EXCL): never writes through a symlink planted at the temp name; rename replaces, never follows.
  fs.writeFileSync(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, paths.serverInfo);
}

/** Removes server.json if it is still ours (a successor may have replaced it). */
export function removeServerInfo(paths: WorkspacePaths, token: string): void {
  const existing = readServerInfo(paths.serverInfo);
  if (!existing || existing.token === token) fs.rmSync(paths.serverInfo, { force: true });
}
