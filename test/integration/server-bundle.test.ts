import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rolldown } from 'rolldown';
import { describe, expect, it } from 'vitest';
import { lazyRequires, SERVER_BUNDLE, warmCompileCache } from '../../build/bundle-server.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const root = path.resolve(import.meta.dirname, '../..');

function runNode(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// build/bundle-server.ts: what keeps the bundled `lookout` lean (issue 19, docs/idle-memory.md).
describe('the server bundle', () => {
  it('defers a CommonJS require of a LAZY_REQUIRES module to its first use, which then behaves as the real one', async () => {
    const dir = tempWorkspace();
    // A package that requires tls at load and uses it later, as ws does.
    fs.writeFileSync(
      path.join(dir, 'client.cjs'),
      `const tls = require('tls');\nconst net = require('node:net');\nexports.tls = () => tls;\nexports.net = net;\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'entry.mjs'),
      [
        `import client from './client.cjs';`,
        `const loaded = () => process.moduleLoadList.includes('NativeModule tls');`,
        `const before = loaded();`,
        `const tls = client.tls();`,
        `const check = { before, connect: typeof tls.connect, has: 'connect' in tls, after: loaded(), same: tls.connect === (await import('node:tls')).connect, net: typeof client.net.connect };`,
        `console.log(JSON.stringify(check));`,
      ].join('\n'),
    );
    const bundle = await rolldown({
      input: path.join(dir, 'entry.mjs'),
      platform: 'node',
      plugins: [lazyRequires(['tls'])],
      logLevel: 'silent',
    });
    await bundle.write({ dir: path.join(dir, 'out'), format: 'esm' });
    await bundle.close();

    const run = runNode([path.join(dir, 'out/entry.js')]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      before: false,
      connect: 'function',
      has: true,
      after: true,
      same: true,
      net: 'function',
    });
  });

  it('leaves the build with a compile cache the first start of `lookout` is served from', () => {
    const file = path.join(root, SERVER_BUNDLE);
    expect(fs.existsSync(file), 'run `npm run build` first').toBe(true);
    const cache = tempWorkspace();
    const env = { ...process.env, NODE_COMPILE_CACHE: cache };
    expect(warmCompileCache(file, env)).toBe(true);

    // What bin/lookout.js does before loading the bundle: enable the cache (here NODE_COMPILE_CACHE's).
    const script = `import { enableCompileCache } from 'node:module'; enableCompileCache(); await import(process.argv[1]);`;
    const run = runNode(['--input-type=module', '-e', script, pathToFileURL(file).href], {
      NODE_COMPILE_CACHE: cache,
      NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
    });
    expect(run.status).toBe(0);
    const bundleUrl = pathToFileURL(file).href;
    const lines = `${run.stdout}\n${run.stderr}`.split('\n').filter((line) => line.includes(`${bundleUrl} `));
    expect(lines.some((line) => line.includes('was accepted'))).toBe(true);
    expect(lines.some((line) => line.includes('was rejected'))).toBe(false);
  });
});
