import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HEADERS } from '../../src-shared/protocol.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** A module hook, preloaded with --import, that records every module the server loads. */
const RECORDER = `
import fs from 'node:fs';
import { registerHooks } from 'node:module';
const out = process.env.LOOKOUT_TEST_LOADED;
registerHooks({ load(url, context, next) { fs.appendFileSync(out, url + '\\n'); return next(url, context); } });
// Node's own modules (undici, http2) load without the hooks: list them on demand.
process.on('SIGUSR2', () => {
  fs.writeFileSync(out + '.tmp', process.moduleLoadList.join('\\n'));
  fs.renameSync(out + '.tmp', out + '.builtins');
});
`;

/** Node's internal modules the server has loaded so far (it writes them on SIGUSR2). */
async function loadedBuiltins(pid: number, file: string): Promise<string[]> {
  fs.rmSync(`${file}.builtins`, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(`${file}.builtins`)) {
    if (Date.now() > deadline) throw new Error('the server did not list its modules');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return fs.readFileSync(`${file}.builtins`, 'utf8').split('\n');
}

const packagesIn = (text: string): string[] =>
  [...text.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((match) => match[1]!);

/**
 * The packages the server has loaded: those loaded from node_modules, and those inlined in
 * the chunks of the server bundle it has loaded (build/bundle-server.ts), read from each
 * chunk's source map. A package that the bundle inlines is loaded as soon as its chunk is.
 */
function loadedPackages(file: string): Set<string> {
  const urls = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(packagesIn(urls.join('\n')));
  for (const url of urls) {
    if (!url.startsWith('file:') || !url.includes('/dist/server/')) continue;
    const map = JSON.parse(fs.readFileSync(`${fileURLToPath(url)}.map`, 'utf8')) as { sources: string[] };
    for (const name of packagesIn(map.sources.join('\n'))) packages.add(name);
  }
  return packages;
}

// Issue 19 (idle RSS): libraries only some requests need are loaded on their first use.
describe('an idle server loads only what it uses', () => {
  it('loads neither jose nor protobufjs until a protobuf OTLP request comes, then answers it', async () => {
    const workspace = tempWorkspace();
    const recorder = path.join(workspace, 'recorder.mjs');
    const loaded = path.join(workspace, 'loaded.txt');
    fs.writeFileSync(recorder, RECORDER);
    const server = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn'], {
      env: { NODE_OPTIONS: `--import ${recorder}`, LOOKOUT_TEST_LOADED: loaded },
    });
    const [, url] = await server.waitFor(LISTENING);
    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const events = await fetch(`${url}/api/v1/events?limit=1`, { headers: { [HEADERS.sessionToken]: token } });
    expect(events.status).toBe(200);

    const idle = loadedPackages(loaded);
    // The recorder saw the server's own imports: the bundle `lookout` runs, its inlined
    // packages, and what it requires from node_modules at run time.
    expect(fs.readFileSync(loaded, 'utf8')).toContain('/dist/server/lookout.js');
    expect(idle.has('koa')).toBe(true);
    expect(idle.has('zod')).toBe(true);
    expect(idle.has('@koa/router')).toBe(true);
    expect(idle.has('jose')).toBe(false);
    expect(idle.has('protobufjs')).toBe(false);
    expect(idle.has('pg')).toBe(false); // PostgreSQL's client: team mode only
    expect(idle.has('pino-pretty')).toBe(false); // a terminal only
    expect(idle.has('electron')).toBe(false);
    // prom-client requires it at load, for exemplars only (build/bundle-server.ts LAZY_REQUIRES).
    expect(idle.has('@opentelemetry/api')).toBe(false);

    // Neither Node's fetch (undici) nor http2, however JSON is answered: a read, a write,
    // an error (node:http and @koa/router are loaded with require, JSON bodies are sent as text).
    const posted = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { [HEADERS.sessionToken]: token, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'x.footprint', data: { n: 1 } }),
    });
    expect(posted.status).toBe(201);
    expect(posted.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await posted.json()).toMatchObject({ events: [{ sequence_number: expect.any(Number) }] });
    const missing = await fetch(`${url}/api/v1/no-such-thing`, { headers: { [HEADERS.sessionToken]: token } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
    const builtins = await loadedBuiltins(server.child.pid!, loaded);
    expect(builtins).toContain('NativeModule http'); // the list is real
    expect(builtins).not.toContain('NativeModule internal/deps/undici/undici');
    expect(builtins).not.toContain('NativeModule http2');
    // ws's client and prom-client's Pushgateway require these at load; the bundle defers them.
    expect(builtins).not.toContain('NativeModule tls');
    expect(builtins).not.toContain('NativeModule https');

    const reply = await fetch(`${url}/v1/logs`, {
      method: 'POST',
      body: new Uint8Array(),
      headers: { 'content-type': 'application/x-protobuf', [HEADERS.sessionToken]: token },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/x-protobuf');
    expect(loadedPackages(loaded).has('protobufjs')).toBe(true);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('gives back the young generation once idle after start-up, and serves as before afterwards', async () => {
    const workspace = tempWorkspace();
    const server = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'debug']);
    const [, url] = await server.waitFor(LISTENING);
    // The server logs the trim (a JSON line on stderr) with the young generation before and after.
    const [line] = await server.waitFor(/\{[^\n]*"idle: trimmed memory"[^\n]*\}/, 'stderr', 20_000);
    const trim = JSON.parse(line) as { young_generation_mb_before: number; young_generation_mb_after: number };
    expect(trim.young_generation_mb_before).toBeGreaterThan(4);
    expect(trim.young_generation_mb_after).toBeLessThanOrEqual(4);

    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    const published = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { [HEADERS.sessionToken]: token, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'x.after-trim', data: { ok: true } }),
    });
    expect(published.status).toBe(201);
    const read = await fetch(`${url}/api/v1/events?types=x.after-trim`, { headers: { [HEADERS.sessionToken]: token } });
    expect(((await read.json()) as { events: { data: unknown }[] }).events.map((e) => e.data)).toEqual([{ ok: true }]);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
