import fs from 'node:fs';
import path from 'node:path';
import { API_PREFIX, HEADERS } from '../../src-shared/protocol.ts';
import type { ServerInfo } from '../../src-shared/server-info.ts';
import { runningServer, STATE_DIR, workspacePaths } from '../workspace.ts';
import { CliError } from './output.ts';

/**
 * The workspace a command acts on: --workspace (or LOOKOUT_WORKSPACE) if given, else the
 * nearest directory at or above cwd holding `.lookout/` (as git finds a repository).
 */
export function findWorkspace(
  explicit: string | undefined,
  options: { mustExist: boolean; cwd?: string } = { mustExist: true },
): string {
  const cwd = options.cwd ?? process.cwd();
  const given = explicit ?? process.env.LOOKOUT_WORKSPACE;
  if (given) {
    const resolved = path.resolve(cwd, given);
    if (!fs.existsSync(resolved)) throw new CliError(`workspace ${resolved} does not exist; check --workspace`);
    return resolved;
  }
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, STATE_DIR))) return dir;
    if (path.dirname(dir) === dir) break;
  }
  if (!options.mustExist) return cwd;
  throw new CliError(
    `no Lookout workspace in ${cwd} or above (no ${STATE_DIR}/ found); start one with \`lookout serve\` there, or pass --workspace DIR`,
  );
}

export function requireServer(workspace: string): ServerInfo {
  const info = runningServer(workspacePaths(workspace));
  if (!info)
    throw new CliError(
      `no Lookout server is running for ${workspace}; start one with \`lookout serve --workspace ${workspace}\``,
    );
  return info;
}

/**
 * How long a call keeps trying while the server answers `503 unavailable` (team mode: its
 * database is unreachable, nothing of the request was stored), waiting what Retry-After
 * says each time. `onWait` hears the server's message before the first wait.
 */
export interface UnavailableRetry {
  forMs: number;
  onWait: (message: string) => void;
}

/** Longest single wait, whatever Retry-After says: the budget is what bounds the whole. */
const MAX_RETRY_WAIT_MS = 10_000;

/** A call to the server's API; its error body becomes one CLI line. */
export async function callApi<T>(
  server: ServerInfo,
  method: string,
  apiPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
  retry?: UnavailableRetry,
): Promise<T> {
  const deadline = Date.now() + (retry?.forMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    const { res, parsed } = await send(server, method, apiPath, body, headers);
    if (res.ok) return parsed as T;
    const error = (parsed as { error?: { message?: string; code?: string } } | undefined)?.error;
    const waitMs = Math.min(
      MAX_RETRY_WAIT_MS,
      Math.max(250, Number(res.headers.get('retry-after') ?? 1) * 1000 || 1000),
    );
    if (retry && res.status === 503 && error?.code === 'unavailable' && Date.now() + waitMs <= deadline) {
      if (attempt === 0) retry.onWait(error.message ?? 'the server is unavailable');
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      continue;
    }
    throw new CliError(`the server refused: ${error?.message ?? `HTTP ${res.status}`}`);
  }
}

async function send(
  server: ServerInfo,
  method: string,
  apiPath: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ res: Response; parsed: unknown }> {
  let res: Response;
  try {
    res = await fetch(`${server.url}${API_PREFIX}${apiPath}`, {
      method,
      headers: {
        [HEADERS.sessionToken]: server.token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError(
      `the server at ${server.url} (pid ${server.pid}) is not answering (${(error as Error).cause ?? (error as Error).message}); restart it with \`lookout serve\``,
    );
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { res, parsed };
}
