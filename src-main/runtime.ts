import { randomBytes } from 'node:crypto';
import type { ServerInfo } from '../src-shared/server-info.ts';
import { type Config, type ConfigInput, parseConfig } from './config.ts';
import { createApp } from './http/app.ts';
import { type HttpServer, listen } from './http/http-server.ts';
import { allowedHosts } from './http/middleware/host-check.ts';
import { healthRoutes } from './http/routes/health.ts';
import type { Route } from './http/route.ts';
import { createLogger, flushLogger, type Logger } from './logger.ts';
import { type Database, openDatabase } from './store/database.ts';
import { VERSION } from './version.ts';
import {
  claimServerInfo,
  prepareStateDir,
  removeServerInfo,
  type WorkspacePaths,
  writeServerInfo,
} from './workspace.ts';

export interface Runtime {
  readonly config: Config;
  readonly paths: WorkspacePaths;
  readonly logger: Logger;
  readonly store: Database;
  readonly http: HttpServer;
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly info: ServerInfo;
  /** Ordered, bounded, idempotent shutdown. */
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Log to stderr as well as the file (the headless command does; tests don't). */
  logToStderr?: boolean;
}

/**
 * The composition root: the desktop app, `lookout serve` and the tests all build the
 * server side through this one function.
 */
export async function createRuntime(input: ConfigInput | Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const config = parseConfig(input);
  const paths = prepareStateDir(config.workspace);
  claimServerInfo(paths);
  const logger = createLogger({ level: config.logLevel, file: paths.log, stderr: options.logToStderr ?? false });
  const startedAt = Date.now();

  let store: Database;
  try {
    store = openDatabase(paths.database);
  } catch (error) {
    flushLogger(logger);
    throw error;
  }

  const token = randomBytes(32).toString('base64url');
  let port = config.port;
  let hosts = new Set<string>();

  const publicRoutes = healthRoutes({
    version: VERSION,
    startedAt,
    storePing: () => store.ping(),
    schemaVersion: store.schemaVersion,
    lastSequenceNumber: () => 0,
  }) as Route[];

  const app = createApp({
    logger,
    token,
    version: VERSION,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    getPort: () => port,
    getAllowedHosts: () => hosts,
    publicRoutes,
    apiRoutes: [],
  });

  let http: HttpServer;
  try {
    http = await listen(app.callback(), { host: config.host, port: config.port });
  } catch (error) {
    store.close();
    flushLogger(logger);
    throw error;
  }
  port = http.port;
  hosts = allowedHosts(port, config.host);
  const displayHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${displayHost}:${port}`;
  const info: ServerInfo = { url, port, pid: process.pid, token, version: VERSION, started_at: new Date(startedAt).toISOString() };
  writeServerInfo(paths, info);
  logger.info({ url, workspace: config.workspace, version: VERSION }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('stopping');
      await http.close(config.shutdownTimeoutMs);
      store.close();
      removeServerInfo(paths, token);
      logger.info('stopped');
      flushLogger(logger);
    })());

  return { config, paths, logger, store, http, url, port, token, info, stop };
}
