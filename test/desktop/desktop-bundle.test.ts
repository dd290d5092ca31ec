import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PRELOAD_BUNDLE } from '../../build/bundle-preload.ts';
import { DESKTOP_BUNDLE } from '../../build/bundle-server.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const root = path.resolve(import.meta.dirname, '../..');
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };

/**
 * What Electron does with the app, done by Node: load package.json's "main" as the main
 * process's entry. `electron` resolves to the fake (test/desktop/fake-electron.ts; the
 * binary cannot run here) through a module hook; everything else is the real build. The
 * script reports the files it loaded and the window's first page once that is the server.
 */
const LAUNCHER = `
import fs from 'node:fs';
import path from 'node:path';
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';
const [root, userData] = [process.env.TEST_ROOT, process.env.TEST_USER_DATA];
const fake = pathToFileURL(path.join(root, 'test/desktop/fake-electron.ts')).href;
const loaded = [];
registerHooks({
  resolve: (specifier, context, next) => (specifier === 'electron' ? { url: fake, shortCircuit: true } : next(specifier, context)),
  load: (url, context, next) => (loaded.push(url), next(url, context)),
});
const electron = await import(fake);
electron.app.appPath = root;
electron.app.userData = userData;
const { main } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
await import(pathToFileURL(path.join(root, main)).href);
const server = () => electron.BrowserWindow.instances.at(-1)?.loaded.find((url) => url.startsWith('http:'));
while (!server()) await new Promise((resolve) => setTimeout(resolve, 20));
const window = electron.BrowserWindow.instances.at(-1);
console.log(JSON.stringify({ page: server(), preload: window.options.webPreferences.preload, loaded }));
`;

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('the desktop app runs the bundled server', () => {
  it('has package.json "main" at the desktop bundle, which starts the embedded server from it alone', async () => {
    expect(packageJson.main).toBe(DESKTOP_BUNDLE);
    const entry = path.join(root, DESKTOP_BUNDLE);
    expect(fs.existsSync(entry), 'run `npm run build` first').toBe(true);
    // electron stays an import Electron answers, never the npm package (the binary's installer) inlined.
    const code = fs.readFileSync(entry, 'utf8');
    expect(code).toMatch(/^import \{[^}]*\bapp\b[^}]*\} from "electron";$/m);
    const map = JSON.parse(fs.readFileSync(`${entry}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.some((source) => source.includes('node_modules/electron/'))).toBe(false);
    expect(map.sources.some((source) => source.endsWith('src-main/runtime.ts'))).toBe(true);

    const dir = tempWorkspace();
    const launcher = path.join(dir, 'launch.mjs');
    fs.writeFileSync(launcher, LAUNCHER);
    const workspace = tempWorkspace();
    const child = spawn(process.execPath, [launcher, '--workspace', workspace], {
      env: {
        ...process.env,
        TEST_ROOT: root,
        TEST_USER_DATA: tempWorkspace(),
        LOOKOUT_PORT: '0',
        LOOKOUT_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      void exited.then(() => reject(new Error(`the app exited before its window showed the server: ${err}`)));
    });
    const report = JSON.parse(line) as { page: string; preload: string; loaded: string[] };

    // The window shows the server the bundle started, and it answers.
    const health = await fetch(new URL('/health', report.page));
    expect(health.status).toBe(200);
    expect(fs.existsSync(path.join(workspace, '.lookout', 'server.json'))).toBe(true);
    // Our code came from the bundle only: no tsc output (dist/src-main), no TypeScript sources.
    const ours = report.loaded.filter((url) => url.startsWith('file:') && !url.includes('/node_modules/'));
    expect(ours).toEqual([
      pathToFileURL(path.join(root, 'test/desktop/fake-electron.ts')).href,
      pathToFileURL(entry).href,
    ]);
    // The preload the window is given is where `npm run build:preload` puts it, beside the bundle.
    expect(report.preload).toBe(path.join(root, PRELOAD_BUNDLE));
    expect(path.dirname(report.preload)).toBe(path.dirname(entry));

    child.kill('SIGTERM');
    await exited;
    expect(err).toContain('quitting: stopped');
  });
});
