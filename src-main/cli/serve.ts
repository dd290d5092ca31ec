import { type Command, Option } from 'commander';
import { type Config, loadConfig, SETTINGS, type SettingName } from '../config.ts';
import { QuitSequence } from '../quit-sequence.ts';
import { trimMemoryWhenIdle } from '../idle-memory-trim.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { reportAndExit } from './output.ts';

/**
 * Signals closer together than this are one press delivered twice (terminal + wrapper).
 * A person pressing Ctrl+C again to force is slower than this.
 */
const SAME_PRESS_MS = 300;

/** Settings that only make sense for a server, offered as `serve` flags. */
const SERVE_FLAGS = Object.keys(SETTINGS).filter((name) => name !== 'workspace') as SettingName[];

/**
 * Commander names an option's value after its flag (`--sse-keepalive-ms` → `sseKeepaliveMs`),
 * which need not be the setting's name (`sseKeepAliveMs`): map through the flag, never
 * assume the two spellings agree.
 */
const OPTION_KEYS = new Map(SERVE_FLAGS.map((name) => [name, new Option(SETTINGS[name].flag).attributeName()]));

/** The configuration `lookout serve` runs with, from its parsed options (flags over LOOKOUT_* over defaults). */
export function serveConfig(
  options: Record<string, string | boolean | undefined>,
  workspace: string | undefined,
  env?: NodeJS.ProcessEnv,
): Config {
  const flags: Partial<Record<SettingName, string | boolean>> = { workspace };
  for (const [name, key] of OPTION_KEYS) flags[name] = options[key];
  return loadConfig({ flags, ...(env ? { env } : {}) });
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('run the Lookout server headless (no window) for a workspace')
    .addHelpText('after', '\nEvery flag can also be set with its LOOKOUT_* environment variable; see the README.');
  for (const name of SERVE_FLAGS) {
    const setting = SETTINGS[name];
    const takesValue = !(setting.schema.def.type === 'boolean');
    command.option(`${setting.flag}${takesValue ? ' <value>' : ''}`, `${setting.describe} (env ${setting.env})`);
  }
  command.action(async (options: Record<string, string | boolean | undefined>, cmd: Command) => {
    let config: Config;
    try {
      config = serveConfig(options, cmd.optsWithGlobals<{ workspace?: string }>().workspace);
    } catch (error) {
      reportAndExit(error);
    }
    if (config.allowRemote && config.host !== '127.0.0.1') {
      process.stderr.write(
        `lookout: warning: listening on ${config.host}: anyone who can reach it and has the token can drive this workspace\n`,
      );
    }

    // Signals are handled from before start-up takes anything (port, workspace lock,
    // server.json): a stop requested while starting lets the start finish, then undoes it
    // the ordinary way, so Ctrl+C at any moment leaves nothing behind.
    let runtime: Runtime | undefined;
    let starting: Promise<Runtime> | undefined;
    let lostStateDir = false;
    // `lookout serve | head -1`: once the reader is gone, stdout writes fail with EPIPE.
    // That must not kill the server (and leave server.json behind); stop writing there.
    process.stdout.on('error', () => undefined);
    // The same quit path as the desktop app: bounded, and a second signal forces.
    const quit = new QuitSequence({
      stop: async () => {
        const started = await starting?.catch(() => undefined);
        await started?.stop().catch((error: unknown) => {
          // Every step ran; say which failed (the exit code is then 1, as documented).
          process.stderr.write(`lookout: ${(error as Error).message}\n`);
          throw error;
        });
      },
      // A server whose .lookout/ was deleted under it did not end by request: exit 1.
      exit: (code) => process.exit(lostStateDir && code === 0 ? 1 : code),
      // The runtime's own stop is bounded by the drain timeout; leave it room to finish.
      timeoutMs: config.shutdownTimeoutMs + 3000,
      log: (message) => runtime?.logger.info(message),
    });
    let firstSignalAt = 0;
    const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
      const now = Date.now();
      // One Ctrl+C can arrive twice: from the terminal (to the whole process group) and
      // again from a wrapper that passes it on (`npx`, `npm start`). Only a later press forces.
      if (signal === 'SIGINT' && quit.requested && now - firstSignalAt < SAME_PRESS_MS) return;
      firstSignalAt ||= now;
      process.stderr.write(
        quit.requested
          ? `lookout: ${signal} again, exiting without waiting\n`
          : `lookout: ${signal} received, stopping (press Ctrl+C again to force)\n`,
      );
      void quit.request(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    try {
      starting = createRuntime(config, {
        logToStderr: true,
        onStateDirLost: (message) => {
          lostStateDir = true;
          process.stderr.write(`lookout: ${message}\n`);
          void quit.request('SIGTERM');
        },
      });
      runtime = await starting;
    } catch (error) {
      reportAndExit(error);
    }
    // Stopped while starting: the quit sequence is already undoing the start.
    if (quit.requested) return;
    process.stdout.write(
      `Lookout ${runtime.info.version} listening on ${runtime.url} (workspace ${config.workspace})\n`,
    );
    trimMemoryWhenIdle(runtime.logger);
  });
}
