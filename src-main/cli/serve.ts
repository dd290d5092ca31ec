import { type Command, Option } from 'commander';
import { type Config, loadConfig, SETTINGS, type SettingName } from '../config.ts';
import { QuitSequence } from '../quit-sequence.ts';
import { createRuntime } from '../runtime.ts';
import { reportAndExit } from './output.ts';

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
    try {
      const config = serveConfig(options, cmd.optsWithGlobals<{ workspace?: string }>().workspace);
      if (config.allowRemote && config.host !== '127.0.0.1') {
        process.stderr.write(
          `lookout: warning: listening on ${config.host}: anyone who can reach it and has the token can drive this workspace\n`,
        );
      }
      const runtime = await createRuntime(config, { logToStderr: true });
      process.stdout.write(
        `Lookout ${runtime.info.version} listening on ${runtime.url} (workspace ${config.workspace})\n`,
      );

      // The same quit path as the desktop app: bounded, and a second signal forces.
      const quit = new QuitSequence({
        stop: () => runtime.stop(),
        exit: (code) => process.exit(code),
        // The runtime's own stop is bounded by the drain timeout; leave it room to finish.
        timeoutMs: config.shutdownTimeoutMs + 3000,
        log: (message) => runtime.logger.info(message),
      });
      const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
        process.stderr.write(
          quit.requested
            ? `lookout: ${signal} again, exiting without waiting\n`
            : `lookout: ${signal} received, stopping (press Ctrl+C again to force)\n`,
        );
        void quit.request(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    } catch (error) {
      reportAndExit(error);
    }
  });
}
