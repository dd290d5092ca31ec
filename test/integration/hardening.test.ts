import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { runLookout, spawnLookout } from '../helpers/cli.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { connectWs, upgradeRefusal } from '../helpers/ws-client.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lockEvents = async (runtime: Runtime) =>
  (await runtime.bus.log.read({ after: 0, patterns: ['session.lock_changed'], limit: 1000 })).map(
    (e) => JSON.parse(e.json) as { data: { read_only: boolean; reason: string; lock: { holder: string | null } } },
  );

describe('hardening', () => {
  it('cannot be tricked past the token or the read-only guard by the case or a trailing slash of a path', async () => {
    const runtime = await startRuntime();
    for (const p of ['/API/v1/events', '/Api/V1/session', '/api/V1/status', '/api/v1/events/', '/API/V1/']) {
      const res = await fetch(`${runtime.url}${p}`);
      expect(res.status, p).toBe(401);
    }
    const handover = await fetch(`${runtime.url}/API/v1/session/handover`, { method: 'POST' });
    expect(handover.status).toBe(401);
    expect(runtime.session.state.read_only).toBe(false);
    // With the token, only the exact path exists.
    expect((await api(runtime, '/API/v1/events')).status).toBe(404);
    expect((await api(runtime, '/api/v1/events/')).status).toBe(404);
  });

  it('treats a malformed session cookie as no token, over HTTP and on the WebSocket upgrade, and keeps running', async () => {
    const runtime = await startRuntime();
    const cookie = `lookout_session_${runtime.port}=%E0%A4%A`;
    expect((await fetch(`${runtime.url}/api/v1/session`, { headers: { cookie } })).status).toBe(401);
    const refused = await upgradeRefusal(`ws://127.0.0.1:${runtime.port}/ws`, { cookie });
    expect(refused.status).toBe(401);
    expect((await fetch(`${runtime.url}/health`)).status).toBe(200);
  });

  it('answers refused upgrades with an X-Request-Id (echoed when sane)', async () => {
    const runtime = await startRuntime();
    const echoed = await upgradeRefusal(`ws://127.0.0.1:${runtime.port}/ws`, { 'x-request-id': 'upgrade-1' });
    expect(echoed.headers['x-request-id']).toBe('upgrade-1');
    const minted = await upgradeRefusal(`ws://127.0.0.1:${runtime.port}/ws`, {});
    expect(minted.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps delivering after a snapshot large enough to fill the socket buffer', async () => {
    const runtime = await startRuntime();
    // Two full lists of long commitments: a snapshot of well over the 512 KiB high-water mark.
    const list = (prefix: string) =>
      Array.from({ length: 1000 }, (_, i) => ({
        id: `${prefix}${i}`,
        text: 'x'.repeat(2000),
        counterparty: 'someone',
      }));
    expect(
      (await api(runtime, '/api/v1/state/commitments', { method: 'PUT', json: { owe: list('A'), owed: list('B') } }))
        .status,
    ).toBe(200);
    const client = await connectWs(runtime, '?types=x.*');
    await client.waitFor((m) => m.some((x) => x.type === 'snapshot'));
    await runtime.bus.publish([{ type: 'x.after-snapshot', data: {} }]);
    await client.waitFor(() => client.events().length === 1, 5000);
  });

  it('lets the holder write with X-Lock-Id at once, publishes even a short run, and takes the lock back at once', async () => {
    const runtime = await startRuntime();
    const script = `fetch(process.env.LOOKOUT_URL + '/api/v1/system/status', { method: 'POST', headers: { 'x-session-token': process.env.LOOKOUT_TOKEN, 'x-lock-id': process.env.LOOKOUT_LOCK_ID, 'content-type': 'application/json' }, body: JSON.stringify({ progress: 42 }) }).then((r) => process.exit(r.status === 200 ? 0 : 10 + Math.floor(r.status / 100)))`;
    const run = await runLookout([
      'run',
      '--workspace',
      runtime.config.workspace,
      '--',
      process.execPath,
      '-e',
      script,
    ]);
    expect(run.code).toBe(0);
    expect(runtime.state.document().system.progress).toBe(42);
    // The run was shorter than the watch interval, yet every holder change was published…
    expect((await lockEvents(runtime)).map((e) => e.data.lock.holder)).toEqual(['server', null, 'cli', 'server']);
    // …and the server is writable again right away, not after the handover grace period.
    expect(runtime.session.state.read_only).toBe(false);
  });

  it('prefers Last-Event-ID over since on SSE (the browser resends the same URL on reconnect)', async () => {
    const runtime = await startRuntime();
    const [first] = await runtime.bus.publish([
      { type: 'x.1', data: {} },
      { type: 'x.2', data: {} },
      { type: 'x.3', data: {} },
    ]);
    const controller = new AbortController();
    const res = await api(runtime, `/api/v1/sse?types=x.*&since=${first!.sequence_number - 1}`, {
      headers: { 'last-event-id': String(first!.sequence_number + 1) },
      signal: controller.signal,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('replay_complete')) text += (await reader.read()).value ?? '';
    controller.abort();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual([first!.sequence_number + 2]);
  });

  it('emit --stdin publishes lines as they come, without waiting for the end of input', async () => {
    const runtime = await startRuntime();
    const emit = spawnLookout(['emit', '--stdin', '--workspace', runtime.config.workspace]);
    emit.child.stdin!.write(`${JSON.stringify({ type: 'x.streamed', data: { n: 1 } })}\n`);
    await emit.waitFor(/^\d+\n/);
    expect(await runtime.bus.log.read({ after: 0, patterns: ['x.streamed'], limit: 10 })).toHaveLength(1);
    emit.child.stdin!.write('{"type":"workflow.failed","data":{}}\n');
    // Bad input (the catalogue refuses it) is exit code 2, and the message says what was sent.
    expect(await emit.exited).toBe(2);
    expect(emit.stderr()).toMatch(
      /^lookout: stdin line 2: data\.workflow_id: .*; the 1 event on line 1 was sent \(numbers above\), nothing from line 2 on\n$/,
    );
  });

  it('leaves no trace in the history or the lock when the start fails', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const workspace = tempWorkspace();
    try {
      await expect(createRuntime({ workspace, port, logLevel: 'silent' })).rejects.toThrow(/already in use/);
    } finally {
      blocker.close();
    }
    expect(fs.existsSync(path.join(workspace, '.lookout', 'session.lock'))).toBe(false);
    const runtime = await startRuntime({ workspace });
    const types = (await runtime.bus.log.read({ after: 0, patterns: ['*'], limit: 10 })).map((e) => e.type);
    expect(types).toEqual(
      ['system.started', 'session.lock_changed'].sort((a, b) => types.indexOf(a) - types.indexOf(b)),
    );
    expect(types).toHaveLength(2);
  });

  it('answers a JSON 404 for docs asset names that are built-in object keys', async () => {
    const runtime = await startRuntime();
    for (const name of ['constructor', '__proto__', 'toString']) {
      const res = await rawRequest(`${runtime.url}/docs/assets/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.json()).toMatchObject({ error: { code: 'not_found' } });
    }
  });

  it('a subscribe drops queued events the new filter excludes', async () => {
    const runtime = await startRuntime({ queueSize: 100 });
    const client = await connectWs(runtime, '?types=x.*');
    await client.waitFor((m) => m.length >= 2);
    const socket = (client.ws as unknown as { _socket: net.Socket })._socket;
    socket.pause();
    client.ws.send(JSON.stringify({ type: 'subscribe', types: ['x.keep'] }));
    await delay(50);
    socket.resume();
    await client.waitFor((m) => m.some((x) => x.type === 'subscribed'));
    await runtime.bus.publish([
      { type: 'x.drop', data: {} },
      { type: 'x.keep', data: {} },
    ]);
    await client.waitFor(() => client.events().some((e) => e.type === 'x.keep'));
    const after = client.messages.slice(client.messages.findIndex((m) => m.type === 'subscribed'));
    expect(after.filter((m) => m.type === 'x.drop')).toEqual([]);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });
});
