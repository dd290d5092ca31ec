import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/**
 * What must never reach a log: access JWTs, scrypt hashes, a password field, and any
 * 32-byte base64url secret (the owner token, refresh tokens, bindings, sign-in codes and
 * tickets are all of that shape: 43 characters).
 */
export const SECRET_IN_LOG = /eyJ[\w-]+\.eyJ[\w-]+|scrypt\$|"password"|(?<![\w-])[\w-]{43}(?![\w-])/;

const made: string[] = [];
afterEach(() => {
  const dirs = made.splice(0);
  try {
    // Every workspace of every test: its logs are checked before they go, so the whole
    // suite shows that no credential is ever logged.
    for (const dir of dirs) {
      const stateDir = path.join(dir, '.lookout');
      const logs = fs.statSync(stateDir, { throwIfNoEntry: false })?.isDirectory()
        ? fs.readdirSync(stateDir).filter((f) => f.startsWith('lookout.log'))
        : [];
      for (const log of logs) {
        // Only the server's own logs: a symlink planted by a test is never followed.
        if (!fs.lstatSync(path.join(stateDir, log)).isFile()) continue;
        const text = fs.readFileSync(path.join(stateDir, log), 'utf8');
        const match = SECRET_IN_LOG.exec(text);
        if (match)
          throw new Error(
            `${log} holds what looks like a credential: …${text.slice(Math.max(0, match.index - 80), match.index + 60)}…`,
          );
      }
    }
  } finally {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh temporary workspace directory, removed after the test. */
export function tempWorkspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-test-'));
  made.push(dir);
  return dir;
}
