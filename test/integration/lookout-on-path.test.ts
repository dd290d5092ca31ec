import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src-main/version.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

/**
 * `lookout` as a new user gets it: put on PATH with `npm link` (the README's way), run from
 * an unrelated directory, in a shell whose `node` is the machine's old Node and which never
 * sourced the bootstrap. Each test builds a throwaway checkout (bin/, sources and dist/
 * copied, node_modules linked) so mtimes and .tools/ are under the test's control.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const MIN = [22, 13];

function nodeVersion(file: string): number[] | undefined {
  const result = spawnSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().split('.').map(Number) : undefined;
}

/** A Node older than Lookout needs, from PATH or the usual places (the machine's own). */
function findOldNode(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/bin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const file = path.join(dir, 'node');
    if (!fs.existsSync(file)) continue;
    const [major = 0, minor = 0] = nodeVersion(file) ?? [];
    if (major < MIN[0]! || (major === MIN[0] && minor < MIN[1]!)) return file;
  }
  return undefined;
}

const OLD_NODE = findOldNode();
/** PATH entries a bare shell has, minus any directory holding a Node new enough. */
const SYSTEM_DIRS = ['/usr/local/bin', '/usr/bin', '/bin'].filter((dir) => {
  const node = path.join(dir, 'node');
  return !fs.existsSync(node) || node === OLD_NODE;
});

function setTree(dir: string, time: Date): void {
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) fs.utimesSync(path.join(entry.parentPath, entry.name), time, time);
  }
}

function makeCheckout(options: { bootstrap: boolean }): string {
  const root = tempWorkspace();
  for (const part of ['bin', 'package.json', 'src-main', 'src-shared', 'dist'])
    fs.cpSync(path.join(REPO, part), path.join(root, part), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  // Built after the sources were last touched, as `npm run build` leaves it.
  const now = Date.now();
  for (const layer of ['src-main', 'src-shared']) setTree(path.join(root, layer), new Date(now - 120_000));
  setTree(path.join(root, 'dist'), new Date(now - 60_000));
  // A script as the package's own npm scripts use the launcher.
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  pkg.scripts['which-node'] =
    "node bin/with-node.js node -p \"process.versions.node + ' ' + typeof process.getBuiltinModule('node:sqlite')\"";
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify(pkg, null, 2));
  if (options.bootstrap) {
    // What scripts/bootstrap-node.sh leaves: Node 24 in .tools/node24 (here: the Node running the tests).
    const bin = path.join(root, '.tools', 'node24', 'node_modules', 'node', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  }
  return root;
}

/** `npm link` into a private prefix; returns the PATH a new shell would have afterwards. */
function linkInto(checkout: string, nodeDir: string): string {
  const prefix = tempWorkspace();
  const shellPath = [path.join(prefix, 'bin'), nodeDir, ...SYSTEM_DIRS].join(path.delimiter);
  const npm = spawnSync('npm', ['link', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: checkout,
    // npm itself comes from this test's PATH; everything it runs sees the new shell's PATH.
    env: {
      HOME: process.env.HOME,
      PATH: `${shellPath}${path.delimiter}${process.env.PATH}`,
      npm_config_prefix: prefix,
    },
    encoding: 'utf8',
  });
  expect(npm.status, npm.stderr).toBe(0);
  return shellPath;
}

function run(file: string, args: string[], options: SpawnOptions & { input?: string } = {}) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(file, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      // A command that exits without reading its input closes the pipe first (EPIPE, more
      // likely now that the bundled command starts faster): its exit code and output are
      // what the tests judge, so only that error is ignored.
      child.stdin!.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') stderr += `stdin: ${error.message}`;
      });
      child.stdin!.end(options.input ?? '');
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
}

describe('lookout on PATH, in any shell', () => {
  it('npm link puts `lookout` on PATH: it runs from an unrelated directory', async () => {
    const checkout = makeCheckout({ bootstrap: true });
    const shellPath = linkInto(checkout, path.dirname(OLD_NODE ?? process.execPath));
    const elsewhere = tempWorkspace();
    const env = { HOME: process.env.HOME, PATH: shellPath };
    const version = await run('lookout', ['--version'], { cwd: elsewhere, env });
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(VERSION);
    expect(version.code).toBe(0);
    // A real command, answered by Lookout (not npm): nothing runs in this directory.
    const status = await run('lookout', ['status'], { cwd: elsewhere, env });
    expect(status.code).toBe(1);
    expect(status.stdout + status.stderr).toMatch(/Lookout is not running for/);
  });

  describe.skipIf(!OLD_NODE)(`with the machine's old Node first on PATH (${OLD_NODE ?? 'none found'})`, () => {
    it('re-runs itself with the bootstrap Node: argv, stdin, stdout, exit codes pass through', async () => {
      const checkout = makeCheckout({ bootstrap: true });
      const shellPath = linkInto(checkout, path.dirname(OLD_NODE!));
      const env = { HOME: process.env.HOME, PATH: shellPath };
      const cwd = tempWorkspace();
      expect((await run('node', ['--version'], { env })).stdout).toMatch(/^v(1\d|20|21|22\.(\d|1[0-2]))\./);

      // A bad flag: commander's exit code 2 and one line, through the re-run.
      const bad = await run('lookout', ['serve', '--bogus'], { cwd, env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^lookout: unknown option '--bogus'/);

      // A server started this way: stdin (emit --stdin), stdout and SIGTERM all reach the real process.
      const workspace = tempWorkspace();
      const server = spawn('lookout', ['serve', '--port', '0', '--workspace', workspace, '--log-level', 'warn'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      server.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const exited = new Promise<number | null>((resolve) => server.on('close', (code) => resolve(code)));
      const deadline = Date.now() + 20_000;
      while (!/listening on/.test(out)) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server did not start: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const emit = await run('lookout', ['emit', '--stdin', '--workspace', workspace], {
        env,
        input: '{"type":"x.one","data":{}}\n{"type":"x.two","data":{}}\n',
      });
      expect(emit.stderr).toBe('');
      expect(emit.stdout.trim().split('\n')).toHaveLength(2);
      expect(emit.code).toBe(0);
      const paths = workspacePaths(workspace);
      expect(fs.existsSync(paths.serverInfo)).toBe(true);
      // SIGINT to the launcher (no terminal here, so it passes it on): a clean stop, exit 0.
      server.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(fs.existsSync(paths.serverInfo)).toBe(false);
      expect(fs.existsSync(path.join(paths.stateDir, 'session.lock'))).toBe(false);
    });

    it('npm scripts pick the bootstrap Node by themselves (npm run in a shell that sourced nothing)', async () => {
      const checkout = makeCheckout({ bootstrap: true });
      const env = {
        HOME: process.env.HOME,
        PATH: [path.dirname(OLD_NODE!), ...SYSTEM_DIRS, ...(process.env.PATH ?? '').split(path.delimiter)].join(
          path.delimiter,
        ),
      };
      expect((await run('node', ['--version'], { env })).stdout).not.toBe(process.version + '\n');
      const result = await run('npm', ['run', '--silent', 'which-node'], { cwd: checkout, env });
      expect(result.stderr).toBe('');
      expect(result.stdout.trim()).toBe(`${process.versions.node} object`);
      // Exit codes come through the launcher unchanged.
      const failing = await run(OLD_NODE!, [path.join(checkout, 'bin/with-node.js'), 'node', '-e', 'process.exit(7)'], {
        env,
      });
      expect(failing.code).toBe(7);
    });

    it('without the bootstrap Node it says how to get one, in one line, exit 1', async () => {
      const checkout = makeCheckout({ bootstrap: false });
      const result = await run(OLD_NODE!, [path.join(checkout, 'bin/lookout.js'), '--version']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^lookout: needs Node 22\.13 or newer .*source scripts\/bootstrap-node\.sh/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });
  });

  it('warns once when dist/ is older than the sources, naming what changed', async () => {
    const checkout = makeCheckout({ bootstrap: true });
    const bin = path.join(checkout, 'bin/lookout.js');
    const fresh = await run(process.execPath, [bin, '--version']);
    expect(fresh.stderr).toBe('');
    const edited = path.join(checkout, 'src-main/cli/tail.ts');
    fs.utimesSync(edited, new Date(), new Date());
    const stale = await run(process.execPath, [bin, '--version']);
    expect(stale.stdout.trim()).toBe(VERSION);
    expect(stale.stderr).toBe(
      'lookout: warning: dist/ is older than the sources (src-main/cli/tail.ts changed since the last build); ' +
        'run `npm run build`, or delete dist/ to run the sources\n',
    );
    // A source with no build output at all (a new file) counts too.
    fs.writeFileSync(path.join(checkout, 'src-shared/new-module.ts'), 'export {};\n');
    expect((await run(process.execPath, [bin, '--version'])).stderr).toMatch(/and 1 more changed/);
  });
});
