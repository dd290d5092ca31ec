import readline from 'node:readline';
import type { Command } from 'commander';
import { Password, Role, type User, type UsersList } from '../../src-shared/access.ts';
import { generatePassword } from '../access/passwords.ts';
import { callApi, findWorkspace, requireServer } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';

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

function server(cmd: Command) {
  return requireServer(findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace));
}

function parseRole(role: string): Role {
  const parsed = Role.safeParse(role);
  if (!parsed.success) throw new CliError(`unknown role ${JSON.stringify(role)}: use viewer, operator or admin`, 2);
  return parsed.data;
}

export function registerUsers(program: Command): void {
  const user = program
    .command('user')
    .description('manage the users who may sign in (needs the running server; acts as its owner)');

  user
    .command('add')
    .argument('<name>', 'letters, digits, ".", "_" or "-" (any script)')
    .requiredOption('--role <role>', 'viewer, operator or admin')
    .option('--generate', 'generate a password and print it once')
    .description('create a user; the password comes from a prompt, stdin (first line), or --generate')
    .action(async (name: string, options: { role: string; generate?: boolean }, cmd: Command) => {
      try {
        const role = parseRole(options.role);
        const target = server(cmd);
        const { password, generated } = await passwordFor(options, `password for ${name}: `);
        const created = await callApi<User>(target, 'POST', '/users', { name, role, password });
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
        const { users } = await callApi<UsersList>(server(cmd), 'GET', '/users');
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
        const target = server(cmd);
        const { password, generated } = await passwordFor(options, `new password for ${name}: `);
        await callApi<User>(target, 'PATCH', `/users/${encodeURIComponent(name)}`, { password });
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
          await callApi<User>(server(cmd), 'PATCH', `/users/${encodeURIComponent(name)}`, { disabled });
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
        const updated = await callApi<User>(server(cmd), 'PATCH', `/users/${encodeURIComponent(name)}`, {
          role: parseRole(role),
        });
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
        await callApi(server(cmd), 'DELETE', `/users/${encodeURIComponent(name)}`);
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
        const result = await callApi<{ revoked_sessions: number }>(server(cmd), 'POST', '/auth/rotate-key');
        process.stdout.write(`signing key replaced; ${result.revoked_sessions} sign-in(s) ended\n`);
        process.exit(0);
      } catch (error) {
        reportAndExit(error);
      }
    });
}
