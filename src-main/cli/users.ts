import { randomBytes } from 'node:crypto';
import readline from 'node:readline';
import type { Command } from 'commander';
import { Password, Role, type UpdateUserRequest, type User, type UsersList } from '../../src-shared/access.ts';
import { AccessService, OWNER_ID } from '../access/access-service.ts';
import { generatePassword } from '../access/passwords.ts';
import { SETTINGS } from '../config.ts';
import { LookoutError } from '../errors.ts';
import { EventBus } from '../events/bus.ts';
import { createEventLog } from '../events/create-event-log.ts';
import { SqliteEventLog } from '../events/sqlite-event-log.ts';
import { createLogger } from '../logger.ts';
import { openDatabase } from '../store/database.ts';
import type { SqlStore } from '../store/sql-store.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { prepareStateDir, runningServer, workspacePaths } from '../workspace.ts';
import { callApi, findWorkspace } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';

/** What the user commands need, whether a server runs (through its API) or not (on the store). */
interface UserAdmin {
  create(body: { name: string; role: Role; password: string }): Promise<User>;
  list(): Promise<User[]>;
  update(name: string, patch: UpdateUserRequest): Promise<User>;
  remove(name: string): Promise<void>;
  rotateKey(): Promise<number>;
}

const OWNER = { id: OWNER_ID, name: OWNER_ID, role: 'admin' } as const;

/**
 * With a server running, every change goes through its API (so it takes effect there at
 * once: sign-ins end, streams close). Without one, the command opens the workspace's
 * store itself, so users can be set up before the first `lookout serve`.
 */
async function withAdmin<T>(cmd: Command, fn: (admin: UserAdmin) => Promise<T>): Promise<T> {
  const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace, { mustExist: false });
  const server = runningServer(workspacePaths(workspace));
  if (server) {
    const at = (name: string) => `/users/${encodeURIComponent(name)}`;
    return fn({
      create: (body) => callApi<User>(server, 'POST', '/users', body),
      list: async () => (await callApi<UsersList>(server, 'GET', '/users')).users,
      update: (name, patch) => callApi<User>(server, 'PATCH', at(name), patch),
      remove: async (name) => void (await callApi(server, 'DELETE', at(name))),
      rotateKey: async () =>
        (await callApi<{ revoked_sessions: number }>(server, 'POST', '/auth/rotate-key')).revoked_sessions,
    });
  }
  const paths = prepareStateDir(workspace);
  const logger = createLogger({ level: 'silent' });
  const { store, log, close } = await openUserStore(paths.database);
  const bus = new EventBus({ log, logger, queueSize: 1 });
  try {
    await log.start();
    const access = await AccessService.open({
      store,
      bus,
      logger,
      signingKeyFile: paths.signingKey,
      ownerToken: randomBytes(32).toString('base64url'), // never accepted: nothing listens
      accessTokenTtlS: SETTINGS.accessTokenTtlS.default,
      refreshTokenTtlDays: SETTINGS.refreshTokenTtlDays.default,
      signInAttempts: SETTINGS.signInAttempts.default,
      apiRatePerSecond: SETTINGS.apiRatePerSecond.default,
      apiRateBurst: SETTINGS.apiRateBurst.default,
    });
    return await fn({
      create: (body) => access.createUser(body, OWNER),
      list: () => access.listUsers(),
      update: async (name, patch) => access.updateUser((await access.getUser(name)).id, patch, OWNER),
      remove: async (name) => access.removeUser(name),
      rotateKey: () => access.rotateKey(),
    });
  } catch (error) {
    if (error instanceof LookoutError) throw new CliError(error.message, error.status === 400 ? 2 : 1);
    throw error;
  } finally {
    bus.close();
    await log.stop();
    await close();
  }
}

/**
 * The store users live in: the team's PostgreSQL database when LOOKOUT_DATABASE_URL names
 * one (users are shared by every server there, so they are set up in it, not in a
 * workspace file), else the workspace's own SQLite file.
 */
async function openUserStore(
  file: string,
): Promise<{ store: SqlStore; log: ReturnType<typeof createEventLog>; close: () => Promise<void> }> {
  const url = process.env[SETTINGS.databaseUrl.env];
  if (url) {
    const parsed = SETTINGS.databaseUrl.schema.safeParse(url);
    if (!parsed.success)
      throw new CliError(
        `${SETTINGS.databaseUrl.env} is not a PostgreSQL URL: expected postgres://user:password@host:5432/database`,
        2,
      );
    // Loaded here, not at start: every lookout command (serve included) imports this file,
    // and only team mode needs PostgreSQL's client.
    const { PgStore } = await import('../store/postgres/pg-store.ts');
    const store = await PgStore.open(url);
    return {
      store,
      log: createEventLog(store, { logger: createLogger({ level: 'silent' }) }),
      close: () => store.close(),
    };
  }
  const database = openDatabase(file);
  const store = new SqliteStore(database);
  return { store, log: new SqliteEventLog(store), close: () => database.close() };
}

/** Reads a password: stdin's first line when it is not a terminal, else a hidden prompt asked twice. */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const lines = readline.createInterface({ input: process.stdin });
    for await (const line of lines) {
      lines.close();
      return line;
    }
    throw new CliError('no password on stdin; pipe one line, or pass --generate');
  }
  const ask = (question: string) =>
    new Promise<string>((resolve) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      // Echo nothing while the password is typed.
      const output = rl as unknown as { _writeToOutput: (text: string) => void };
      output._writeToOutput = (text: string) => {
        if (text.includes(question)) process.stderr.write(question);
      };
      rl.question(question, (answer) => {
        rl.close();
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  const first = await ask(prompt);
  const second = await ask('again: ');
  if (first !== second) throw new CliError('the two passwords differ; nothing was changed');
  return first;
}

async function passwordFor(
  options: { generate?: boolean },
  prompt: string,
): Promise<{ password: string; generated: boolean }> {
  if (options.generate) return { password: generatePassword(), generated: true };
  const password = await readPassword(prompt);
  const checked = Password.safeParse(password);
  if (!checked.success)
    throw new CliError(`${checked.error.issues[0]?.message ?? 'bad password'}; nothing was changed`, 2);
  return { password, generated: false };
}

const describeUser = (u: User) =>
  `${u.name.padEnd(20)} ${u.role.padEnd(8)} ${u.disabled ? 'disabled' : 'active  '} last sign-in ${u.last_sign_in_at ?? 'never'}  (${u.id})`;

function parseRole(role: string): Role {
  const parsed = Role.safeParse(role);
  if (!parsed.success) throw new CliError(`unknown role ${JSON.stringify(role)}: use viewer, operator or admin`, 2);
  return parsed.data;
}

export function registerUsers(program: Command): void {
  const user = program
    .command('user')
    .description('manage the users who may sign in (through the running server, or on the store when none runs)');

  user
    .command('add')
    .argument('<name>', 'letters, digits, ".", "_" or "-" (any script)')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--generate', 'generate a password and print it once')
    .description('create a user; the password comes from a prompt, stdin (first line), or --generate')
    .action(async (name: string, options: { role: string; generate?: boolean }, cmd: Command) => {
      try {
        const role = parseRole(options.role);
        const { password, generated } = await passwordFor(options, `password for ${name}: `);
        const created = await withAdmin(cmd, (admin) => admin.create({ name, role, password }));
        process.stdout.write(`created ${created.name} (${created.role})\n`);
        if (generated) process.stdout.write(`password: ${password}\n(shown once: keep it now)\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });

  user
    .command('list')
    .option('--json', 'print JSON')
    .description('list users')
    .action(async (options: { json?: boolean }, cmd: Command) => {
      try {
        const users = await withAdmin(cmd, (admin) => admin.list());
        if (options.json) process.stdout.write(`${JSON.stringify({ users })}\n`);
        else if (users.length === 0)
          process.stdout.write('no users yet; add one with `lookout user add NAME --role viewer`\n');
        else for (const u of users) process.stdout.write(`${describeUser(u)}\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });

  user
    .command('passwd')
    .argument('<name>')
    .option('--generate', 'generate a password and print it once')
    .description("set a user's password (their sign-ins end)")
    .action(async (name: string, options: { generate?: boolean }, cmd: Command) => {
      try {
        const { password, generated } = await passwordFor(options, `new password for ${name}: `);
        await withAdmin(cmd, (admin) => admin.update(name, { password }));
        process.stdout.write(`password of ${name} changed; their sign-ins ended\n`);
        if (generated) process.stdout.write(`password: ${password}\n(shown once: keep it now)\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });

  for (const [verb, disabled, said] of [
    ['disable', true, 'disabled; their sign-ins and streams ended'],
    ['enable', false, 'enabled'],
  ] as const) {
    user
      .command(verb)
      .argument('<name>')
      .description(
        disabled ? 'stop a user from signing in (ends their sign-ins now)' : 'let a disabled user sign in again',
      )
      .action(async (name: string, _options: unknown, cmd: Command) => {
        try {
          await withAdmin(cmd, (admin) => admin.update(name, { disabled }));
          process.stdout.write(`${name} ${said}\n`);
          process.exit(0);
        } catch (error) {
          reportAndExit(error);
        }
      });
  }

  user
    .command('role')
    .argument('<name>')
    .argument('<role>', 'viewer, operator or admin')
    .description("change a user's role (their sign-ins end)")
    .action(async (name: string, role: string, _options: unknown, cmd: Command) => {
      try {
        const wanted = parseRole(role);
        const updated = await withAdmin(cmd, (admin) => admin.update(name, { role: wanted }));
        process.stdout.write(`${updated.name} is now ${updated.role}\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });

  user
    .command('remove')
    .argument('<name>')
    .description('delete a user')
    .action(async (name: string, _options: unknown, cmd: Command) => {
      try {
        await withAdmin(cmd, (admin) => admin.remove(name));
        process.stdout.write(`removed ${name}\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });
}

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('signing key and sessions');
  auth
    .command('rotate-key')
    .description(
      'replace the signing key: every browser and user signs in again (programs using the owner token are unaffected)',
    )
    .action(async (_options: unknown, cmd: Command) => {
      try {
        const revoked = await withAdmin(cmd, (admin) => admin.rotateKey());
        process.stdout.write(`signing key replaced; ${revoked} sign-in(s) ended\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });
}
