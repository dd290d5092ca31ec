import fs from 'node:fs';
import path from 'node:path';

/**
 * Files that belong to someone else (Claude Code's settings.json, a repository's git
 * hooks) are changed the careful way: read whole, written to a temporary file beside
 * them and renamed over, keeping their mode, so a crash never leaves half a file.
 */

export function readIfExists(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function writeAtomic(file: string, content: string | Buffer, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const keepMode = mode ?? (fs.existsSync(file) ? fs.statSync(file).mode & 0o7777 : 0o644);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.lookout-${process.pid}.tmp`);
  fs.writeFileSync(temp, content, { mode: keepMode });
  fs.chmodSync(temp, keepMode); // writeFileSync's mode is filtered by the umask
  fs.renameSync(temp, file);
}

/** Shell-quotes one word for a POSIX shell (Claude Code and git both run hooks through sh). */
export const shellQuote = (word: string): string =>
  /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
