import type { Command } from 'commander';
import { loadConfig, SETTINGS, type SettingName } from '../config.ts';
import { QuitSequence } from '../quit-sequence.ts';
import { createRuntime } from '../runtime.ts';
import { reportAndExit } from './output.ts';

/** Settings that only make sense for a server, offered as `serve` flags. */
const SERVE_FLAGS = Object.keys(SETTINGS).filter((name) => name !== 'workspace') as SettingName[];

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
      const config = loadConfig({
        flags: { ...options, workspace: cmd.optsWithGlobals<{ workspace?: string }>().workspace },
      });
      if (config.allowRemote && config.host !== '127.0.0.1') {
        process.stderr.write(
          `lookout: warning: listening on ${config.host}: anyone who can reach it and has the token can drive this workspace\n`,
        );
      }
      // `lookout serve | head -1`: once the reader is gone, stdout writes fail with EPIPE.
      // That must not kill the server (and leave server.json behind); stop writing there.
      process.stdout.on('error', () => undefined);
      let lostStateDir = false;
      const runtime = await createRuntime(config, {
        logToStderr: true,
        onStateDirLost: (message) => {
          lostStateDir = true;
          process.stderr.write(`lookout: ${message}\n`);
          void quit.request('SIGTERM');
        },
      });
      process.stdout.write(
        `Lookout ${runtime.info.version} listening on ${runtime.url} (workspace ${config.workspace})\n`,
      );

      // The same quit path as the desktop app: bounded, and a second signal forces.
      const quit = new QuitSequence({
        stop: () =>
          runtime.stop().catch((error: unknown) => {
            // Every step ran; say which failed (the exit code is then 1, as documented).
            process.stderr.write(`lookout: ${(error as Error).message}\n`);
            throw error;
          }),
        // A server whose .lookout/ was deleted under it did not end by request: exit 1.
        exit: (code) => process.exit(lostStateDir && code === 0 ? 1 : code),
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
