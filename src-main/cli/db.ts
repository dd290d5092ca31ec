import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { isHeld } from '../session/lock.ts';
import { databaseFiles } from '../store/database.ts';
import { runningServer, workspacePaths } from '../workspace.ts';
import { findWorkspace } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';

/**
 * `lookout db set-aside`: moves the database together with its -wal and -shm into a
 * dated folder under .lookout/, so the next start begins an empty history and nothing
 * is lost (moving only lookout.db leaves the WAL, and every event in it, behind).
 */
export function registerDb(program: Command): void {
  const db = program.command('db').description('manage the workspace database');
  db.command('set-aside')
    .description(
      'move lookout.db with its -wal and -shm into .lookout/set-aside-<time>/ (for a corrupt database); the next start begins empty',
    )
    .option(
      '-w, --workspace <dir>',
      'workspace directory (default: nearest with .lookout/ above the current directory)',
    )
    .addHelpText('after', '\nExit code: 0 moved; 1 a server or `lookout run` holds the workspace, or nothing to move.')
    .action((_options: unknown, cmd: Command) => {
      try {
        const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace);
        const paths = workspacePaths(workspace);
        const server = runningServer(paths);
        if (server) throw new CliError(`a Lookout server (pid ${server.pid}) is using the database; stop it first`);
        if (isHeld(paths)) throw new CliError('the workspace is held (lookout run?); wait for it to finish first');
        const present = databaseFiles(paths.database).filter((file) => {
          try {
            return fs.lstatSync(file).isFile();
          } catch {
            return false;
          }
        });
        if (present.length === 0) throw new CliError(`there is no database to set aside in ${paths.stateDir}`);
        const target = path.join(paths.stateDir, `set-aside-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        fs.mkdirSync(target, { mode: 0o700 });
        // The database first: if a later rename failed, a start would not pair the old
        // WAL with a fresh database (SQLite ignores a WAL whose header does not match).
        for (const file of present) fs.renameSync(file, path.join(target, path.basename(file)));
        process.stdout.write(
          `moved ${present.map((file) => path.basename(file)).join(', ')} to ${target}; the next start begins an empty history\n`,
        );
      } catch (error) {
        reportAndExit(error);
      }
    });
}
