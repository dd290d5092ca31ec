import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { STATE_DIR } from '../workspace.ts';
import type { DesktopSettings } from './desktop-settings.ts';
import type { ServerState, ServerToggle } from './server-toggle.ts';

export type WorkspaceCheck = { ok: true; dir: string } | { ok: false; message: string };

/**
 * Whether a folder someone picked can be a workspace, with the reason when it cannot.
 * The answer is the folder's real path, so the same folder reached through a symlink
 * is one entry in the recent list, not two.
 */
export function checkWorkspace(candidate: string): WorkspaceCheck {
  const resolved = path.resolve(candidate);
  let dir: string;
  try {
    dir = fs.realpathSync(resolved);
  } catch {
    return { ok: false, message: `${resolved} does not exist (moved or deleted?); choose another folder` };
  }
  if (!fs.statSync(dir).isDirectory())
    return { ok: false, message: `${dir} is a file, not a folder; choose the folder your agents work in` };
  if (dir.split(path.sep).includes(STATE_DIR)) {
    return {
      ok: false,
      message: `${dir} is inside Lookout's own ${STATE_DIR} folder; choose the project folder that contains it`,
    };
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return {
      ok: false,
      message: `${dir} is not writable, and Lookout keeps its history in ${path.join(dir, STATE_DIR)}; choose a folder you can write to`,
    };
  }
  return { ok: true, dir };
}

export type StartupWorkspace =
  | { dir: string; source: 'argument' | 'recent' }
  /** Ask the user; `problem` says why the argument or last workspace was not used. */
  | { dir: null; problem: string | null };

/**
 * Which workspace the app opens with: `--workspace` if given, else the one used last,
 * else none (the folder chooser). A bad `--workspace` is reported rather than silently
 * replaced by an older workspace: the user asked for that folder.
 */
export function startupWorkspace(input: {
  requested: string | undefined;
  recent: readonly string[];
}): StartupWorkspace {
  if (input.requested !== undefined) {
    const check = checkWorkspace(input.requested);
    return check.ok ? { dir: check.dir, source: 'argument' } : { dir: null, problem: check.message };
  }
  const last = input.recent[0];
  if (last === undefined) return { dir: null, problem: null };
  const check = checkWorkspace(last);
  return check.ok
    ? { dir: check.dir, source: 'recent' }
    : { dir: null, problem: `the last workspace cannot be opened: ${check.message}` };
}

export type OpenWorkspaceResult = { ok: true; dir: string; state: ServerState } | { ok: false; message: string };

/**
 * Switching workspaces: check the folder, stop the current server, start one for the
 * new folder, and remember it. The server toggle serialises the stop and the start, so
 * two quick switches end on the second folder with one server running.
 */
export class WorkspaceSwitcher {
  readonly #toggle: ServerToggle;
  readonly #settings: DesktopSettings;
  readonly #configFor: (dir: string) => Config;

  constructor(options: { toggle: ServerToggle; settings: DesktopSettings; configFor: (dir: string) => Config }) {
    this.#toggle = options.toggle;
    this.#settings = options.settings;
    this.#configFor = options.configFor;
  }

  get current(): string | null {
    return this.#toggle.config?.workspace ?? null;
  }

  async open(candidate: string): Promise<OpenWorkspaceResult> {
    const check = checkWorkspace(candidate);
    if (!check.ok) return check;
    const status = this.#toggle.state.status;
    if (check.dir === this.current && (status === 'running' || status === 'starting')) {
      this.#settings.rememberWorkspace(check.dir);
      return { ok: true, dir: check.dir, state: this.#toggle.state };
    }
    let config: Config;
    try {
      config = this.#configFor(check.dir);
    } catch (error) {
      // A bad LOOKOUT_* variable: the folder is fine, the environment is not.
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    this.#settings.rememberWorkspace(check.dir);
    const state = await this.#toggle.restartWith(config);
    return { ok: true, dir: check.dir, state };
  }
}
