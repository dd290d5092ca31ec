import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Runtime } from '../../src-main/runtime.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { wrap } from '../helpers/ws-client.ts';

// The repository's own Caddyfile (the one docker-compose.yml mounts), run by a real Caddy
// in front of two real Lookout servers. The servers listen on 127.0.0.2 and 127.0.0.3 with
// one port, as the two containers listen on lookout-a:3000 and lookout-b:3000; the file's
// {$…} placeholders point it at them.
const CADDYFILE = path.resolve(import.meta.dirname, '../../Caddyfile');
const caddyMissing = spawnSync('caddy', ['version'], { stdio: 'ignore' }).error
  ? 'caddy is not installed (Debian: apt-get install caddy)'
  : undefined;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function listenable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One port free on both loopback addresses: the two "containers". */
async function sharedPort(): Promise<number> {
  for (;;) {
    const port = await freePort('127.0.0.2');
    if (await listenable('127.0.0.3', port)) return port;
  }
}

interface Proxy {
  url: string;
  output: () => string;
}

async function startCaddy(port: number, upstreamPort: number): Promise<Proxy> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-caddy-'));
  let output = '';
  const child: ChildProcess = spawn('caddy', ['run', '--config', CADDYFILE, '--adapter', 'caddyfile'], {
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_DATA_HOME: path.join(home, 'data'),
      XDG_CONFIG_HOME: path.join(home, 'config'),
      LOOKOUT_DOMAIN: `http://127.0.0.1:${port}`,
      LOOKOUT_UPSTREAMS: `127.0.0.2:${upstreamPort} 127.0.0.3:${upstreamPort}`,
      LOOKOUT_PORT: String(upstreamPort),
      LOOKOUT_CADDY_ADMIN: 'off',
      LOOKOUT_HEALTH_INTERVAL: '200ms',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    // Caddy's graceful stop waits for proxied streams; nothing here needs one.
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(home, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${port}`;
  // Ready when it proxies: /health answers through it.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`caddy exited: ${output}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, output: () => output };
    if (Date.now() > deadline) throw new Error(`caddy never proxied /health: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Two servers as compose runs them, and Caddy in front. */
async function startTeam() {
  const port = await sharedPort();
  const proxyPort = await freePort('127.0.0.1');
  // As compose sets LOOKOUT_CORS_ORIGINS: the page's origin is the proxy's.
  const corsOrigins = [`http://127.0.0.1:${proxyPort}`];
  const a = await startRuntime({ host: '127.0.0.2', port, corsOrigins });
  const b = await startRuntime({ host: '127.0.0.3', port, corsOrigins });
  const proxy = await startCaddy(proxyPort, port);
  return { a, b, proxy };
}

/** Which server answered: each has its own owner token, valid on it alone. */
async function servedBy(proxy: Proxy, servers: Runtime[]): Promise<Runtime> {
  for (const server of servers) {
    const res = await fetch(`${proxy.url}/api/v1/session`, { headers: { 'x-session-token': server.token } });
    if (res.status === 200) return server;
  }
  throw new Error('no server accepted its own token through the proxy');
}

describe.skipIf(caddyMissing)(
  `Caddyfile in front of two servers${caddyMissing ? ` (skipped: ${caddyMissing})` : ''}`,
  () => {
    it('proxies HTTP, SSE and WebSocket with the Host the servers accept', async () => {
      const { a, b, proxy } = await startTeam();
      const health = await fetch(`${proxy.url}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');

      const server = await servedBy(proxy, [a, b]);
      const auth = { 'x-session-token': server.token };

      // WebSocket through the proxy (the dashboard's way in), with a browser's Origin.
      const ws = await wrap(
        new WebSocket(`${proxy.url.replace('http', 'ws')}/ws`, { headers: { ...auth, origin: proxy.url } }),
      );
      cleanups.push(() => ws.ws.terminate());
      await ws.waitFor((messages) => messages.some((m) => m.type === 'connected'));

      // SSE through the proxy: each event must arrive as it happens (flush_interval -1).
      const stop = new AbortController();
      cleanups.push(() => stop.abort());
      const sse = await fetch(`${proxy.url}/api/v1/sse`, { headers: auth, signal: stop.signal });
      expect(sse.status).toBe(200);
      const reader = sse.body!.getReader();
      cleanups.push(() => reader.cancel().catch(() => undefined));

      const published = await fetch(`${proxy.url}/api/v1/events`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'x.proxy.check', data: { n: 1 } }),
      });
      expect(published.status, await published.clone().text()).toBe(201);

      await ws.waitFor(() => ws.events().some((e) => e.type === 'x.proxy.check'));
      let text = '';
      const decoder = new TextDecoder();
      while (!text.includes('x.proxy.check')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`SSE ended before the event: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    });

    it('moves clients to the other server when theirs stops', async () => {
      const { a, b, proxy } = await startTeam();
      const first = await servedBy(proxy, [a, b]);
      const other = first === a ? b : a;
      await first.stop();
      // Every request from now on lands on the other server: none fails on the way
      // (a failed dial is retried on the other upstream within lb_try_duration).
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${proxy.url}/api/v1/session`, { headers: { 'x-session-token': other.token } });
        expect(res.status, proxy.output()).toBe(200);
      }
      const ws = await wrap(
        new WebSocket(`${proxy.url.replace('http', 'ws')}/ws`, { headers: { 'x-session-token': other.token } }),
      );
      cleanups.push(() => ws.ws.terminate());
      await ws.waitFor((messages) => messages.some((m) => m.type === 'connected'));
    });
  },
);
