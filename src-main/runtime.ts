import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_PREFIX, AUTH_PATH, OTLP_PREFIX } from '../src-shared/protocol.ts';
import type { ServerInfo } from '../src-shared/server-info.ts';
import { AgentRegistry } from './agents/registry.ts';
import { agentRoutes } from './agents/routes.ts';
import { type Config, type ConfigInput, parseConfig } from './config.ts';
import { RegistryAgentDirectory } from './discussions/agent-directory.ts';
import { DiscussionService } from './discussions/discussion-service.ts';
import { CommandProvider } from './discussions/providers/command-provider.ts';
import { ModelProvider } from './discussions/providers/model-provider.ts';
import { discussionRoutes } from './discussions/routes.ts';
import { EventBus } from './events/bus.ts';
import { createEventLog } from './events/create-event-log.ts';
import { AccessService } from './access/access-service.ts';
import { authenticateApi, authorizeUpgrade, type GuardOptions, policyGuard } from './access/guard.ts';
import { accessRoutes } from './access/routes.ts';
import { proxyTrust } from './access/client-address.ts';
import { SseHub } from './gateway/sse.ts';
import { WsGateway } from './gateway/ws-gateway.ts';
import { createApp } from './http/app.ts';
import { type HttpServer, listen } from './http/http-server.ts';
import { RefusalCounter } from './transport/refusal-counter.ts';
import { allowedHosts } from './http/middleware/host-check.ts';
import { assertWritable } from './http/middleware/read-only.ts';
import type { Route } from './http/route.ts';
import { dashboardRoutes } from './http/routes/dashboard.ts';
import { eventRoutes, wsRoute } from './events/routes.ts';
import { renderOtlpError } from './ingest/otlp-receiver.ts';
import { agentSessionRoutes, ingestRoutes } from './ingest/routes.ts';
import { PriceStore } from './ingest/sessions.ts';
import { healthRoutes } from './http/routes/health.ts';
import { KnowledgeService } from './knowledge/knowledge-service.ts';
import { knowledgeRoutes } from './knowledge/routes.ts';
import { Metrics } from './metrics/metrics.ts';
import { metricsRoutes } from './metrics/routes.ts';
import { sessionRoutes } from './session/routes.ts';
import { stateRoutes } from './state/routes.ts';
import { StopError, StartupError } from './errors.ts';
import { createLogger, flushLogger, LogFile, type Logger } from './logger.ts';
import { SessionService } from './session/session.ts';
import { StateService } from './state/state-service.ts';
import { type Database, openDatabase } from './store/database.ts';
import type { PgStore } from './store/postgres/pg-store.ts';
import type { SqlStore } from './store/sql-store.ts';
import { SqliteStore } from './store/sqlite/sqlite-store.ts';
import { TeamLock } from './session/team-lock.ts';
import { GitRunner } from './tasks/git-runner.ts';
import { taskRoutes } from './tasks/routes.ts';
import { containerProvider, worktreeProvider } from './tasks/sandbox/providers.ts';
import { Sandboxes } from './tasks/sandbox/sandboxes.ts';
import { TaskService } from './tasks/task-service.ts';
import { ServerLease } from './store/server-lease.ts';
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
  /** The store every domain writes through: SQLite, or PostgreSQL in team mode. */
  readonly store: SqlStore;
  /**
   * The workspace's SQLite database. In team mode it still holds the tables of the domains
   * not yet on the store interface (agents, tasks, sandboxes, git operations, access).
   */
  readonly database: Database;
  readonly bus: EventBus;
  readonly gateway: WsGateway;
  readonly sse: SseHub;
  readonly session: SessionService;
  /** The state document, commands and collections. */
  readonly state: StateService;
  /** Users, tokens, sign-in and rate limits. */
  readonly access: AccessService;
  /** Every mounted route with its prefix (the role test and the docs walk these). */
  readonly routes: readonly { prefix: string; route: Route }[];
  readonly agents: AgentRegistry;
  readonly tasks: TaskService;
  /** Team mode: this server's lease on the work it holds (tasks; see src-main/store/server-lease.ts). */
  readonly lease: ServerLease | undefined;
  /** Documents, their full-text index (FTS5, or tsvector in team mode), search, and retrieval for discussions. */
  readonly knowledge: KnowledgeService;
  readonly discussions: DiscussionService;
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
  /**
   * `.lookout/` was deleted or replaced under the running server. The default stops the
   * runtime; `lookout serve` stops and exits 1.
   */
  onStateDirLost?: (message: string) => void;
}

const RETENTION_SWEEP_MS = 60_000;
/** A discussion reply's time limit when its agent sets no timeout_s. */
const DISCUSSION_REPLY_TIMEOUT_S = 300;
/** One log record can add at most this much to lookout.log. */
const MAX_LOG_LINE_BYTES = 16 * 1024;

function openLogFile(file: string, maxBytes: number): LogFile {
  try {
    return new LogFile(file, {
      maxBytes,
      maxLineBytes: MAX_LOG_LINE_BYTES,
      onNotice: (message) => {
        try {
          fs.writeSync(2, `lookout: warning: ${message}\n`);
        } catch {
          // stderr is gone too; /health still says so.
        }
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new StartupError(
        `refusing to open ${file}: it is a symlink, and Lookout never follows links under .lookout/; remove it (rm ${file})`,
      );
    }
    if (code === 'ENOSPC') throw new StartupError(`cannot create ${file}: no space left on device; free some space`);
    throw new StartupError(
      `cannot open ${file} (${code ?? (error as Error).message}); remove it or fix its permissions`,
      {
        cause: error,
      },
    );
  }
}

/**
 * The composition root: the desktop app, `lookout serve` and the tests all build the
 * server side through this one function.
 */
export async function createRuntime(input: ConfigInput | Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const config = parseConfig(input);
  const paths = prepareStateDir(config.workspace);
  await claimServerInfo(paths);
  const logFile = openLogFile(paths.log, config.logMaxBytes);
  const logger = createLogger({ level: config.logLevel, file: logFile, stderr: options.logToStderr ?? false });
  const startedAt = Date.now();

  let database: Database;
  let store: SqlStore;
  try {
    database = openDatabase(paths.database, { walMaxBytes: config.walMaxBytes });
  } catch (error) {
    flushLogger(logger, logFile);
    throw error;
  }
  try {
    // pg is loaded only in team mode: a single user's server never pays for it.
    store = config.databaseUrl
      ? await (await import('./store/postgres/pg-store.ts')).PgStore.open(config.databaseUrl)
      : new SqliteStore(database);
  } catch (error) {
    await database.close();
    flushLogger(logger, logFile);
    throw error;
  }
  const pgStore = store.dialect === 'postgres' ? (store as PgStore) : undefined;
  if (pgStore)
    logger.info({ database: pgStore.location }, 'team mode: events, state and the session lock in PostgreSQL');

  // This server among those sharing a store: stable across its restarts (the host and the
  // workspace it serves), so a restarted server settles the tasks it ran itself, and finds
  // what its collectors reported from its workspace.
  const runnerId = `${os.hostname()}:${config.workspace}`;
  const retention = { maxEvents: config.retentionEvents, maxAgeMs: config.retentionDays * 86_400_000 };
  const log = createEventLog(store, { logger, maxEvents: retention.maxEvents, maxGroup: config.groupCommitMax });
  const bus = new EventBus({ log, logger, queueSize: config.queueSize });
  let state: StateService;
  const closeStores = async () => {
    await log.stop();
    await store.close(); // on SQLite, this closes the database too
    if (pgStore) await database.close();
  };
  try {
    await log.prune(retention);
    await log.start();
    state = await StateService.create({ store, bus, logger, workspace: config.workspace, server: runnerId });
  } catch (error) {
    await closeStores().catch(() => undefined);
    flushLogger(logger, logFile);
    throw error;
  }

  const token = randomBytes(32).toString('base64url');
  let port = config.port;

  // Team mode: this server's lease on the work it holds, heartbeated in the database, so
  // the others settle its running tasks if it is lost for good (docs/team-mode.md).
  const lease = pgStore
    ? new ServerLease({ store, holder: runnerId, durationMs: config.runnerLeaseS * 1000, logger })
    : undefined;
  const agents = new AgentRegistry({ store, bus });
  const git = new GitRunner({ store, bus });
  const sandboxes = new Sandboxes({
    store,
    runnerId,
    bus,
    git,
    logger,
    workspace: config.workspace,
    stateDir: paths.stateDir,
  });
  const tasks = new TaskService({
    store,
    runnerId,
    bus,
    logger,
    agents,
    sandboxes,
    git,
    providers: [worktreeProvider, containerProvider()],
    settings: {
      maxRunning: config.maxRunningTasks,
      timeoutS: config.taskTimeoutS,
      graceMs: config.taskKillGraceMs,
      eventBudgetBytes: config.taskOutputEventBytes,
      flushMs: 50,
    },
    // The seam for task-scoped credentials: until access (issue 16) issues a token per
    // task with the operator role, a task's program gets the owner's token.
    credentials: { issue: () => token, revoke: () => undefined },
    stateDir: paths.stateDir,
    url: () => url,
    ...(lease ? { lease } : {}),
  });
  agents.sandboxOf = (taskId) => tasks.sandboxOf(taskId);
  // On the store: SQLite's FTS5 for a single user, PostgreSQL's tsvector in team mode.
  const knowledge = new KnowledgeService({ store, bus });
  const discussions = new DiscussionService({
    store,
    runnerId,
    bus,
    logger,
    agents: await RegistryAgentDirectory.open(agents, bus),
    status: agents,
    knowledge,
    providers: {
      command: new CommandProvider({ cwd: config.workspace, graceMs: Math.min(config.taskKillGraceMs, 2000) }),
      model: new ModelProvider({
        onRetry: (retry) => logger.warn(retry, 'model server busy or failing; retrying'),
      }),
    },
    settings: { replyTimeoutS: DISCUSSION_REPLY_TIMEOUT_S, knowledgeChunks: 4 },
  });
  let hosts = new Set<string>();
  let origins = new Set<string>();

  let access: AccessService;
  try {
    access = await AccessService.open({
      store,
      bus,
      logger,
      signingKeyFile: paths.signingKey,
      ownerToken: token,
      accessTokenTtlS: config.accessTokenTtlS,
      refreshTokenTtlDays: config.refreshTokenTtlDays,
      signInAttempts: config.signInAttempts,
      apiRatePerSecond: config.apiRatePerSecond,
      apiRateBurst: config.apiRateBurst,
    });
  } catch (error) {
    await state.stop();
    await closeStores();
    flushLogger(logger);
    throw error;
  }
  // Requests and upgrades refused for their Host (DNS rebinding) are only counted: one
  // log line a minute at most, however hard a page loops.
  const hostRefusals = new RefusalCounter(logger, 'refused requests with a foreign Host header (DNS rebinding?)');
  const session = new SessionService({
    paths,
    bus,
    logger,
    ...(pgStore ? { team: new TeamLock(pgStore, logger), server: runnerId } : {}),
    onStateDirLost: (message) => {
      logger.error(message);
      if (options.onStateDirLost) options.onStateDirLost(message);
      else void stop().catch(() => undefined);
    },
  });
  const trustProxy = proxyTrust(config);
  const guard: GuardOptions = {
    access,
    trustProxy,
    assertWritable: (lockId) => assertWritable(session, lockId),
    admitWrite: (run) => session.admitWrite(run),
  };
  const hello = () => ({ version: VERSION, workspace: config.workspace, session: session.state });

  const gateway = new WsGateway({
    bus,
    logger,
    authorize: (req) => authorizeUpgrade(req, wsRoute.policy, guard),
    hostRefusals,
    maxClients: config.maxClients,
    queueSize: config.queueSize,
    replayLimit: config.replayLimit,
    heartbeatMs: config.heartbeatMs,
    getAllowedHosts: () => hosts,
    getAllowedOrigins: () => origins,
    getSnapshot: () => state.document(),
    getHello: hello,
  });
  const sse = new SseHub({
    bus,
    logger,
    keepAliveMs: config.sseKeepAliveMs,
    queueSize: config.queueSize,
    replayLimit: config.replayLimit,
    maxClients: config.maxSseClients,
    getHello: hello,
  });

  access.onRevoke((subject) => {
    gateway.closePrincipal(subject);
    sse.closePrincipal(subject);
  });

  const rootRoutes = healthRoutes({
    version: VERSION,
    startedAtMs: startedAt,
    startedAt: new Date(startedAt).toISOString(),
    storeHealth: () => {
      const own = store.health();
      return own.status === 'ok' ? log.health() : own;
    },
    dialect: store.dialect,
    logStatus: () => logFile.status(),
    schemaVersion: store.schemaVersion,
    lastSequenceNumber: () => log.lastSequenceNumber,
  }) as Route[];
  rootRoutes.push(...(dashboardRoutes({}) as Route[]), wsRoute as Route);
  const metrics = new Metrics({
    stats: bus.stats,
    wsClients: () => gateway.clientCount,
    sseClients: () => sse.clientCount,
    lastSequenceNumber: () => log.lastSequenceNumber,
    databaseFile: paths.database,
    lockHolder: () => session.state.lock.holder,
    taskCounts: () => tasks.countByStatus(),
  });
  rootRoutes.push(...(metricsRoutes(metrics) as Route[]));

  const apiRoutes = [
    ...accessRoutes(access, {
      getPort: () => port,
      cookiePath: `${API_PREFIX}${AUTH_PATH}`,
      trustProxy,
    }),
    ...eventRoutes(bus, sse),
    ...stateRoutes(state),
    ...agentSessionRoutes({ log, prices: new PriceStore(path.join(paths.stateDir, 'prices.json')) }),
    ...agentRoutes(agents, tasks),
    ...taskRoutes(tasks, sandboxes, git),
    ...knowledgeRoutes(knowledge),
    ...discussionRoutes(discussions),
    ...sessionRoutes(session, () => ({
      url,
      pid: process.pid,
      version: VERSION,
      workspace: config.workspace,
      started_at: info.started_at,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      clients: { websocket: gateway.clientCount, sse: sse.clientCount },
      last_sequence_number: log.lastSequenceNumber,
      epoch: log.epoch,
      session: session.state,
    })),
  ] as Route[];

  const ingest = ingestRoutes({ bus, maxBodyBytes: config.otlpMaxBodyBytes }) as Route[];
  const app = createApp({
    logger,
    hostRefusals,
    version: VERSION,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    getPort: () => port,
    getAllowedHosts: () => hosts,
    getAllowedOrigins: () => origins,
    rootRoutes,
    apiRoutes,
    observeRequest: (method, route, status, seconds) => metrics.observeRequest(method, route, status, seconds),
    authenticateApi: authenticateApi({ ...guard, prefix: API_PREFIX, routes: apiRoutes }),
    policyGuard: policyGuard(guard),
    protectedRoutes: {
      prefix: OTLP_PREFIX,
      routes: ingest,
      // Under /v1 (OTLP's own paths), authenticated like the API.
      authenticate: authenticateApi({ ...guard, prefix: '', routes: ingest }),
      renderError: renderOtlpError,
    },
  });
  let http: HttpServer | undefined;
  try {
    http = await listen(app.callback(), {
      host: config.host,
      port: config.port,
      headersTimeoutMs: config.headersTimeoutMs,
      maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    });
    // The lock is taken only once the port is ours, so a failed start leaves no trace
    // in the history. Until `hosts` is set below, every request is refused (403).
    await session.start();
  } catch (error) {
    await http?.close(0);
    await session.stop();
    await state.stop();
    await closeStores();
    flushLogger(logger, logFile);
    throw error;
  }
  port = http.port;
  hosts = allowedHosts(port, config.host);
  origins = new Set([
    ...[...hosts].map((host) => `http://${host}`),
    ...config.corsOrigins.map((o) => o.replace(/\/$/, '')),
  ]);
  gateway.attach(http.server);

  const displayHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${displayHost}:${port}`;
  const info: ServerInfo = {
    url,
    port,
    pid: process.pid,
    token,
    version: VERSION,
    started_at: new Date(startedAt).toISOString(),
  };
  writeServerInfo(paths, info);
  await bus.emit('system.started', { version: VERSION, pid: process.pid });
  // Settle what a previous run left (tasks it was running, worktrees) before new work starts.
  await lease?.start();
  await tasks.recover();
  await discussions.recover();
  logger.info({ url, workspace: config.workspace, version: VERSION }, 'listening');

  const sweep = setInterval(() => {
    void (async () => {
      try {
        const removed = await log.prune(retention);
        if (removed > 0) logger.info({ removed }, 'retention pruned events');
      } catch (error) {
        logger.error({ err: error }, 'retention sweep failed');
      }
    })();
  }, RETENTION_SWEEP_MS);
  sweep.unref();

  const server = http;
  // Each step runs even if an earlier one failed: a stop always ends with the lock
  // released and server.json removed. Failed steps are reported at the end (stop()
  // rejects), so `lookout serve` exits 1 as documented.
  const failures: string[] = [];
  const step = async (name: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (error) {
      failures.push(`${name}: ${(error as Error)?.message ?? String(error)}`);
      logger.error({ err: error, step: name }, 'stop step failed');
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('stopping');
      clearInterval(sweep);
      await step('record stop', () => bus.emit('system.stopping', { reason: 'shutdown' }));
      // Tasks end first, so their last output and status reach the clients still connected.
      await step('stop tasks', () => tasks.stop(Math.min(config.taskKillGraceMs, 2000)));
      await step('stop discussions', () => discussions.stop());
      // What this server held is settled: giving the lease up tells the others at once.
      if (lease) await step('release lease', () => lease.release());
      // Stop accepting, tell streaming clients, let in-flight requests finish (bounded),
      // then close the store, release the lock, and remove the runtime file.
      const closingHttp = server.close(config.shutdownTimeoutMs);
      await step('close websockets', () => gateway.close(Math.min(1000, config.shutdownTimeoutMs)));
      await step('close sse', () => sse.close());
      await step('stop collections', () => state.stop());
      await step('finish requests', () => closingHttp);
      await step('close store', async () => {
        bus.close();
        await closeStores();
      });
      // (In team mode the lock has a connection of its own, so it outlives the pool.)
      await step('release lock', () => session.stop());
      await step('remove server.json', () => removeServerInfo(paths, token));
      hostRefusals.flush();
      logger.info('stopped');
      flushLogger(logger, logFile);
      if (failures.length > 0) throw new StopError(failures);
    })());

  return {
    config,
    paths,
    logger,
    store,
    database,
    bus,
    gateway,
    sse,
    session,
    state,
    access,
    routes: app.routes,
    agents,
    tasks,
    lease,
    knowledge,
    discussions,
    http: server,
    url,
    port,
    token,
    info,
    stop,
  };
}
