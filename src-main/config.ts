import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { EXIT_USAGE, StartupError } from './errors.ts';

/**
 * The database URL as it may be shown (messages, logs, /health): the password replaced,
 * everything else kept. Also a password given as a `password=` query parameter.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return '(an unparsable database URL)';
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopbackHost = (host: string): boolean => LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);

/** Parses `203.0.113.7` or `172.28.0.0/24` (IPv4 or IPv6); undefined if it is neither. */
export function parseAddressOrCidr(
  text: string,
): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * Every setting: its schema, default, and where it can come from. This table is the
 * single source for parsing flags and `LOOKOUT_*` variables and for the README's table.
 */
export const SETTINGS = {
  workspace: {
    schema: z.string().min(1),
    default: undefined, // the current directory, resolved at load time
    env: 'LOOKOUT_WORKSPACE',
    flag: '--workspace',
    describe: 'Workspace directory; state lives in <workspace>/.lookout/',
  },
  port: {
    schema: int(0, 65535),
    default: 3000,
    env: 'LOOKOUT_PORT',
    flag: '--port',
    describe: 'TCP port; 0 picks a free one',
  },
  host: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    env: 'LOOKOUT_HOST',
    flag: '--host',
    describe: 'Interface to bind; non-loopback needs allow_remote',
  },
  allowRemote: {
    schema: z.boolean(),
    default: false,
    env: 'LOOKOUT_ALLOW_REMOTE',
    flag: '--allow-remote',
    describe: 'Permit binding a non-loopback host (prints a warning); remote clients sign in as users only',
  },
  trustProxy: {
    schema: z.boolean(),
    default: false,
    env: 'LOOKOUT_TRUST_PROXY',
    flag: '--trust-proxy',
    describe:
      'Behind a TLS reverse proxy on this machine: take the client address from X-Forwarded-For and mark cookies Secure when X-Forwarded-Proto is https',
  },
  trustedProxies: {
    schema: z.array(
      z.string().refine((entry) => parseAddressOrCidr(entry) !== undefined, {
        message: 'expected IP addresses or CIDR ranges, e.g. 172.28.0.10 or 172.28.0.0/24',
      }),
    ),
    default: [] as string[],
    env: 'LOOKOUT_TRUSTED_PROXIES',
    flag: '--trusted-proxies',
    describe:
      'Comma-separated addresses or CIDRs of reverse proxies on other hosts (e.g. Caddy in a container network) whose X-Forwarded-For/-Proto are believed, as --trust-proxy does for a loopback one',
  },
  accessTokenTtlS: {
    schema: int(10, 86_400),
    default: 600,
    env: 'LOOKOUT_ACCESS_TOKEN_TTL_S',
    flag: '--access-token-ttl-s',
    describe: 'Lifetime of an access token (browsers refresh before it ends)',
  },
  refreshTokenTtlDays: {
    schema: z.number().positive().max(365),
    default: 14,
    env: 'LOOKOUT_REFRESH_TOKEN_TTL_DAYS',
    flag: '--refresh-token-ttl-days',
    describe: 'How long an unused sign-in stays refreshable',
  },
  signInAttempts: {
    schema: int(1, 1000),
    default: 10,
    env: 'LOOKOUT_SIGN_IN_ATTEMPTS',
    flag: '--sign-in-attempts',
    describe: 'Failed sign-ins per name or per address before 429 (slowed down from half of it)',
  },
  apiRatePerSecond: {
    schema: z.number().positive().max(1_000_000),
    default: 50,
    env: 'LOOKOUT_API_RATE_PER_SECOND',
    flag: '--api-rate-per-second',
    describe: 'API requests per second per principal (token bucket; the owner on loopback is exempt)',
  },
  apiRateBurst: {
    schema: int(1, 1_000_000),
    default: 500,
    env: 'LOOKOUT_API_RATE_BURST',
    flag: '--api-rate-burst',
    describe: 'API requests a principal may make at once before the per-second rate applies',
  },
  logLevel: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    env: 'LOOKOUT_LOG_LEVEL',
    flag: '--log-level',
    describe: 'Log level for .lookout/lookout.log and stderr',
  },
  shutdownTimeoutMs: {
    schema: int(0, 600_000),
    default: 5000,
    env: 'LOOKOUT_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms',
    describe: 'How long a graceful stop waits for in-flight requests',
  },
  maxBodyBytes: {
    schema: int(1024, 256 * 1024 * 1024),
    default: 16 * 1024 * 1024,
    env: 'LOOKOUT_MAX_BODY_BYTES',
    flag: '--max-body-bytes',
    describe: 'Largest accepted JSON request body',
  },
  otlpMaxBodyBytes: {
    schema: int(1024, 256 * 1024 * 1024),
    default: 8 * 1024 * 1024,
    env: 'LOOKOUT_OTLP_MAX_BODY_BYTES',
    flag: '--otlp-max-body-bytes',
    describe: 'Largest accepted OTLP/HTTP request, once decompressed (larger: 413)',
  },
  corsOrigins: {
    schema: z.array(z.url()),
    default: [] as string[],
    env: 'LOOKOUT_CORS_ORIGINS',
    flag: '--cors-origins',
    describe: 'Comma-separated origins allowed by CORS and WebSocket Origin checks',
  },
  maxClients: {
    schema: int(1, 10_000),
    default: 10,
    env: 'LOOKOUT_MAX_CLIENTS',
    flag: '--max-clients',
    describe: 'Concurrent WebSocket clients',
  },
  queueSize: {
    schema: int(1, 1_000_000),
    default: 1000,
    env: 'LOOKOUT_QUEUE_SIZE',
    flag: '--queue-size',
    describe: 'Events buffered per slow subscriber before the oldest are dropped',
  },
  groupCommitMax: {
    schema: int(1, 100_000),
    default: 1000,
    env: 'LOOKOUT_GROUP_COMMIT_MAX',
    flag: '--group-commit-max',
    describe:
      'Most publishes committed together in one transaction, SQLite or PostgreSQL (group commit; 1 turns it off: each publish commits alone)',
  },
  heartbeatMs: {
    schema: int(100, 3_600_000),
    default: 30_000,
    env: 'LOOKOUT_HEARTBEAT_MS',
    flag: '--heartbeat-ms',
    describe: 'WebSocket ping interval; a client silent for one interval is dropped',
  },
  replayLimit: {
    schema: int(1, 1_000_000),
    default: 10_000,
    env: 'LOOKOUT_REPLAY_LIMIT',
    flag: '--replay-limit',
    describe: 'Most events one resume replays; older ones are announced as a gap (limit)',
  },
  sseKeepAliveMs: {
    schema: int(100, 3_600_000),
    default: 15_000,
    env: 'LOOKOUT_SSE_KEEPALIVE_MS',
    flag: '--sse-keepalive-ms',
    describe: 'Interval of SSE keep-alive comments',
  },
  maxSseClients: {
    schema: int(1, 10_000),
    default: 100,
    env: 'LOOKOUT_MAX_SSE_CLIENTS',
    flag: '--max-sse-clients',
    describe: 'Concurrent SSE clients; more get 503 with Retry-After',
  },
  maxConnectionsPerAddress: {
    schema: int(1, 100_000),
    default: 256,
    env: 'LOOKOUT_MAX_CONNECTIONS_PER_ADDRESS',
    flag: '--max-connections-per-address',
    describe: 'Open TCP connections one client address may hold; more are closed at once',
  },
  headersTimeoutMs: {
    schema: int(100, 600_000),
    default: 10_000,
    env: 'LOOKOUT_HEADERS_TIMEOUT_MS',
    flag: '--headers-timeout-ms',
    describe: 'A request whose headers take longer is answered 408 and closed (slowloris)',
  },
  logMaxBytes: {
    schema: int(64 * 1024, 1024 * 1024 * 1024),
    default: 10 * 1024 * 1024,
    env: 'LOOKOUT_LOG_MAX_BYTES',
    flag: '--log-max-bytes',
    describe: 'lookout.log is rotated to lookout.log.1 when it passes this size (checked while running)',
  },
  walMaxBytes: {
    schema: int(1024 * 1024, 16 * 1024 * 1024 * 1024),
    default: 64 * 1024 * 1024,
    env: 'LOOKOUT_WAL_MAX_BYTES',
    flag: '--wal-max-bytes',
    describe: 'Past this size the database WAL is checkpointed and truncated',
  },
  databaseUrl: {
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, {
        error: 'expected a PostgreSQL URL: postgres://user:password@host:5432/database',
      })
      .optional(),
    default: undefined,
    env: 'LOOKOUT_DATABASE_URL',
    flag: '--database-url',
    describe:
      'Team mode: keep everything in this PostgreSQL database instead of .lookout/lookout.db; several servers on one database are one control room (the password is never logged)',
  },
  retentionEvents: {
    schema: int(1, Number.MAX_SAFE_INTEGER),
    default: 1_000_000,
    env: 'LOOKOUT_RETENTION_EVENTS',
    flag: '--retention-events',
    describe: 'Events kept in the store (oldest pruned first)',
  },
  retentionDays: {
    schema: z.number().positive().max(36_500),
    default: 30,
    env: 'LOOKOUT_RETENTION_DAYS',
    flag: '--retention-days',
    describe: 'Age after which events are pruned',
  },
  maxRunningTasks: {
    schema: int(1, 256),
    default: 4,
    env: 'LOOKOUT_MAX_RUNNING_TASKS',
    flag: '--max-running-tasks',
    describe: 'Tasks running at once across all agents; more wait queued',
  },
  taskTimeoutS: {
    schema: int(1, 86_400),
    default: 3600,
    env: 'LOOKOUT_TASK_TIMEOUT_S',
    flag: '--task-timeout-s',
    describe: 'Timeout of a task whose agent and task set none',
  },
  taskKillGraceMs: {
    schema: int(0, 600_000),
    default: 5000,
    env: 'LOOKOUT_TASK_KILL_GRACE_MS',
    flag: '--task-kill-grace-ms',
    describe: "Between SIGTERM and SIGKILL to a cancelled task's process group",
  },
  taskOutputEventBytes: {
    schema: int(4096, 64 * 1024 * 1024),
    default: 1024 * 1024,
    env: 'LOOKOUT_TASK_OUTPUT_EVENT_BYTES',
    flag: '--task-output-event-bytes',
    describe: 'Output per task sent as task.output events; the log file keeps all of it',
  },
  runnerLeaseS: {
    schema: int(2, 3600),
    default: 30,
    env: 'LOOKOUT_RUNNER_LEASE_S',
    flag: '--runner-lease-s',
    describe:
      "Team mode: a server's lease on the tasks it runs, renewed every third of it; a server silent this long loses its running tasks to another (failed, runner_lost) and kills them itself",
  },
} as const;

type Settings = typeof SETTINGS;
export type SettingName = keyof Settings;

export const ConfigSchema = z.object(
  Object.fromEntries(
    Object.entries(SETTINGS).map(([name, s]) => [
      name,
      s.default === undefined ? s.schema : (s.schema as z.ZodType).default(s.default as never),
    ]),
  ) as unknown as { [K in SettingName]: Settings[K]['schema'] },
);
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = { [K in SettingName]?: z.input<Settings[K]['schema']> };

/** Turns one textual value (flag or env) into the type its schema expects. */
function fromText(name: SettingName, raw: string): unknown {
  const expected = SETTINGS[name].schema;
  if (expected instanceof z.ZodNumber) {
    // Not a number: keep the text, so the message reads "expected number, received string".
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    return Number.isNaN(value) ? raw : value;
  }
  if (expected instanceof z.ZodBoolean) {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (expected instanceof z.ZodArray) {
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  }
  return raw;
}

function describeSource(name: SettingName): string {
  const s = SETTINGS[name];
  return `${s.flag} / ${s.env}`;
}

/**
 * Resolves the configuration: flags win over `LOOKOUT_*` variables, which win over
 * defaults. A bad value throws a StartupError (exit code 2) naming the setting.
 */
export function loadConfig(
  options: {
    flags?: Partial<Record<SettingName, string | number | boolean | string[] | undefined>>;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
  } = {},
): Config {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const given: Record<string, unknown> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const value = options.flags?.[name] ?? env[SETTINGS[name].env];
    if (value === undefined) continue;
    given[name] = value;
    raw[name] = typeof value === 'string' ? fromText(name, value) : value;
  }
  raw.workspace ??= options.cwd ?? process.cwd();
  return parseConfig(raw, given);
}

/** Validates an already-typed configuration (used by tests and the desktop app). */
export function parseConfig(
  input: ConfigInput | Record<string, unknown>,
  given: Record<string, unknown> = input,
): Config {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? '') as SettingName;
    // A database URL may carry a password: never echo it.
    const got = name === 'databaseUrl' && typeof given[name] === 'string' ? redactUrl(given[name]) : given[name];
    const where = name in SETTINGS ? ` (${describeSource(name)})` : '';
    throw new StartupError(
      `invalid setting ${name}${where}: ${issue?.message ?? 'invalid'}; got ${JSON.stringify(got)}`,
      { exitCode: EXIT_USAGE },
    );
  }
  const config = { ...result.data, workspace: path.resolve(result.data.workspace) };
  if (!isLoopbackHost(config.host) && !config.allowRemote) {
    throw new StartupError(
      `refusing to bind non-loopback host ${config.host}: Lookout is a local tool; ` +
        `pass --allow-remote (or LOOKOUT_ALLOW_REMOTE=1) if you really mean it`,
      { exitCode: EXIT_USAGE },
    );
  }
  return config;
}
