import fs from 'node:fs';
import path from 'node:path';
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
`;

const loadedPackages = (file: string): Set<string> =>
  new Set(
    [...fs.readFileSync(file, 'utf8').matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((match) => match[1]!),
  );

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
    expect(idle.has('koa')).toBe(true); // the recorder saw the server's own imports
    expect(idle.has('jose')).toBe(false);
    expect(idle.has('protobufjs')).toBe(false);

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
