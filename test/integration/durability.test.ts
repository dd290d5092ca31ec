import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src-main/runtime.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('durability and graceful stop', () => {
  it('loses no acknowledged event when the server is SIGKILLed', async () => {
    const workspace = tempWorkspace();
    const server = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn']);
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/);
    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    const acked: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const res = await fetch(`${url}/api/v1/events`, {
        method: 'POST',
        headers: { 'x-session-token': token, 'content-type': 'application/json' },
        body: JSON.stringify({
          events: Array.from({ length: 25 }, (_, i) => ({ type: 'x.durable', data: { n: batch * 25 + i } })),
        }),
      });
      expect(res.status).toBe(201);
      acked.push(
        ...((await res.json()) as { events: { sequence_number: number }[] }).events.map((e) => e.sequence_number),
      );
    }
    server.child.kill('SIGKILL');
    await server.exited;

    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      const stored: number[] = [];
      for (let since = 0; ;) {
        const page = (await (
          await api(runtime, `/api/v1/events?types=x.durable&limit=1000&since=${since}`)
        ).json()) as { events: { sequence_number: number; data: { n: number } }[] };
        if (page.events.length === 0) break;
        stored.push(...page.events.map((e) => e.sequence_number));
        since = page.events.at(-1)!.sequence_number;
      }
      expect(stored).toEqual(acked);
      // And numbering continues after the crash.
      const next = (await (
        await api(runtime, '/api/v1/events', { method: 'POST', json: { type: 'x.after', data: {} } })
      ).json()) as { events: { sequence_number: number }[] };
      expect(next.events[0]!.sequence_number).toBeGreaterThan(acked.at(-1)!);
    } finally {
      await runtime.stop();
    }
  });

  it('lets an in-flight request finish during a graceful stop, then closes', async () => {
    const runtime = await createRuntime({
      workspace: tempWorkspace(),
      port: 0,
      logLevel: 'warn',
      shutdownTimeoutMs: 5000,
    });
    const body = JSON.stringify({ type: 'x.slow', data: { text: 'arrives in two parts' } });
    const socket = net.connect(runtime.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (chunk) => (response += chunk.toString()));
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${runtime.port}\r\nX-Session-Token: ${runtime.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await delay(100);
    let stopped = false;
    const stopping = runtime.stop().then(() => (stopped = true));
    await delay(200);
    expect(stopped).toBe(false); // waiting for the request
    // New connections are refused while draining.
    await expect(fetch(`${runtime.url}/health`)).rejects.toThrow();
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write(body.slice(10));
    await stopping;
    await ended; // the response was written before the connection closed; read all of it
    expect(response).toMatch(/^HTTP\/1\.1 201/);
    expect(response).toMatch(/connection: close/i);
    socket.destroy();
  });

  it('cuts a request that outlives the shutdown timeout', async () => {
    const runtime = await createRuntime({
      workspace: tempWorkspace(),
      port: 0,
      logLevel: 'warn',
      shutdownTimeoutMs: 300,
    });
    const socket = net.connect(runtime.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:${runtime.port}\r\nX-Session-Token: ${runtime.token}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"ty`,
    );
    await delay(50);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    await runtime.stop();
    await closed;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(fs.existsSync(runtime.paths.serverInfo)).toBe(false);
  });

  it('survives the lock being removed under it: logs, goes read-only, takes it back', async () => {
    const runtime = await startRuntime();
    expect(runtime.session.state.lock.holder).toBe('server');
    fs.rmSync(runtime.paths.lock, { recursive: true, force: true });
    fs.rmSync(`${runtime.paths.lock}.json`, { force: true });
    const started = Date.now();
    const reasons = async () =>
      (await runtime.bus.log.read({ after: 0, patterns: ['session.lock_changed'], limit: 100 })).map(
        (e) => (JSON.parse(e.json) as { data: { reason: string } }).data.reason,
      );
    while (!(await reasons()).includes('compromised') || runtime.session.state.read_only) {
      if (Date.now() - started > 10_000) throw new Error(`no recovery: ${(await reasons()).join(',')}`);
      await delay(100);
    }
    expect(runtime.session.state.lock.holder).toBe('server');
    expect(fs.existsSync(runtime.paths.lock)).toBe(true);
    expect((await api(runtime, '/health')).status).toBe(200);
  });
});
