import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src-main/runtime.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { runLookout } from '../helpers/cli.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

describe('lookout db set-aside', () => {
  it('moves the database with its -wal and -shm together; the next start begins empty and the old files are intact', async () => {
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    await runtime.bus.publish([{ type: 'x.keep', data: { n: 1 } }]);
    // Leave the WAL in place, as a kill -9 would: copy the files while the server runs.
    const snapshot = Object.fromEntries(
      ['', '-wal', '-shm'].map((suffix) => [suffix, fs.readFileSync(`${paths.database}${suffix}`)]),
    );
    await runtime.stop();
    for (const [suffix, bytes] of Object.entries(snapshot)) fs.writeFileSync(`${paths.database}${suffix}`, bytes);

    const result = await runLookout(['db', 'set-aside', '--workspace', workspace]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/moved lookout\.db, lookout\.db-wal, lookout\.db-shm to .*set-aside-/);
    const [folder] = fs.readdirSync(paths.stateDir).filter((name) => name.startsWith('set-aside-'));
    const moved = path.join(paths.stateDir, folder!);
    for (const [suffix, bytes] of Object.entries(snapshot))
      expect(fs.readFileSync(path.join(moved, `lookout.db${suffix}`)).equals(bytes)).toBe(true);
    expect(fs.existsSync(paths.database)).toBe(false);

    const fresh = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    expect(await fresh.bus.log.read({ after: 0, patterns: ['x.*'], limit: 10 })).toEqual([]);
    await fresh.stop();
  });

  it('refuses while a server uses the database', async () => {
    const runtime = await startRuntime();
    const result = await runLookout(['db', 'set-aside', '--workspace', runtime.config.workspace]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/a Lookout server \(pid \d+\) is using the database; stop it first/);
    expect(fs.existsSync(runtime.paths.database)).toBe(true);
  });
});
