import fs from 'node:fs';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { WebSocketLike } from '../../src-shared/live-client.ts';
import { API_PREFIX, HEADERS, WS_PATH } from '../../src-shared/protocol.ts';
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

/** A call to the server's API; its error body becomes one CLI line. */
export async function callApi<T>(
  server: ServerInfo,
  method: string,
  apiPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
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
  if (!res.ok) {
    const error = (parsed as { error?: { message?: string; code?: string } } | undefined)?.error;
    throw new CliError(`the server refused: ${error?.message ?? `HTTP ${res.status}`}`);
  }
  return parsed as T;
}

/**
 * How a CLI LiveClient reaches /ws: server.json is read on every attempt, so a restarted
 * server (new port, new token) is found again.
 */
export function workspaceSocket(workspace: string): {
  url: () => string;
  connect: (url: string) => WebSocketLike;
} {
  const paths = workspacePaths(workspace);
  const server = (): ServerInfo => {
    const info = runningServer(paths);
    if (!info) throw new Error('no server running');
    return info;
  };
  return {
    url: () => `${server().url.replace(/^http/, 'ws')}${WS_PATH}`,
    connect: (url) =>
      new WebSocket(url, { headers: { [HEADERS.sessionToken]: server().token } }) as unknown as WebSocketLike,
  };
}
