import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { BIN, runLookout, spawnLookout } from '../helpers/cli.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+))/;

describe('lookout serve (child process)', () => {
  it('starts, prints where it listens, serves /health, and stops cleanly on SIGTERM', async () => {
    const workspace = tempWorkspace();
    const server = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn']);
    const [, url] = await server.waitFor(LISTENING);
    const info = readServerInfo(workspacePaths(workspace).serverInfo);
    expect(info).toMatchObject({ url, pid: server.child.pid });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(fs.existsSync(workspacePaths(workspace).serverInfo)).toBe(false);
  });

  it('stops on SIGINT with exit code 0 as well', async () => {
    const workspace = tempWorkspace();
    const server = spawnLookout(['serve', '--port', '0'], { cwd: workspace, env: { LOOKOUT_LOG_LEVEL: 'warn' } });
    await server.waitFor(LISTENING);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'a %s during start-up stops cleanly: exit 0, no lock or server.json left, the next server writable at once',
    async (signal) => {
      const workspace = tempWorkspace();
      const paths = workspacePaths(workspace);
      const lockDir = path.join(paths.stateDir, 'session.lock');
      const server = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn']);
      // Strike the moment start-up has taken the lock: before it has finished starting
      // (or just after). Either way the stop must undo everything start-up took.
      const deadline = Date.now() + 15_000;
      while (!fs.existsSync(lockDir)) {
        if (Date.now() > deadline || server.child.exitCode !== null) throw new Error(`no lock: ${server.stderr()}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      server.child.kill(signal);
      expect(await server.exited, server.stderr()).toBe(0);
      expect(server.stderr()).toMatch(new RegExp(`${signal} received, stopping`));
      expect(fs.existsSync(lockDir)).toBe(false);
      expect(fs.existsSync(`${lockDir}.json`)).toBe(false);
      expect(fs.existsSync(paths.serverInfo)).toBe(false);

      const next = spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn']);
      await next.waitFor(LISTENING);
      const status = await runLookout(['status', '--json', '--workspace', workspace]);
      expect(JSON.parse(status.stdout)).toMatchObject({ session: { read_only: false, lock: { holder: 'server' } } });
      next.child.kill('SIGTERM');
      expect(await next.exited).toBe(0);
    },
  );

  it('one Ctrl+C delivered twice (terminal and a wrapper) is one stop; a later press forces', async () => {
    const workspace = tempWorkspace();
    const server = spawnLookout([
      'serve',
      '--workspace',
      workspace,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--shutdown-timeout-ms',
      '60000',
    ]);
    const [, url] = await server.waitFor(LISTENING);
    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    // A hung upload keeps the graceful stop waiting, so only a force can end it early.
    const socket = net.connect(Number(new URL(url!).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: ${new URL(url!).host}\r\nX-Session-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n{"type":`,
    );
    // Node answers 100 Continue as it hands the request to the app: from then on it is in flight.
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.on('error', () => undefined);
    server.child.kill('SIGINT');
    server.child.kill('SIGINT');
    await server.waitFor(/stopping/, 'stderr');
    const firstAt = Date.now();
    // A person pressing again is slower than the 300 ms in which a repeat counts as the same press.
    while (Date.now() - firstAt < 400) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.child.exitCode).toBeNull();
    expect(server.stderr()).not.toMatch(/SIGINT again/);
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(130);
    expect(server.stderr()).toMatch(/SIGINT again, exiting without waiting/);
    socket.destroy();
  });

  it('a second signal forces the exit while a request is still in flight', async () => {
    const workspace = tempWorkspace();
    const server = spawnLookout([
      'serve',
      '--workspace',
      workspace,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--shutdown-timeout-ms',
      '60000',
    ]);
    const [, url] = await server.waitFor(LISTENING);
    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    // An open SSE stream is an in-flight request that a graceful stop must end itself;
    // a hung upload is one it has to wait for: start a request and never finish it.
    const socket = net.connect(Number(new URL(url!).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/v1/events HTTP/1.1\r\nHost: ${new URL(url!).host}\r\nX-Session-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    await server.waitFor(/stopping/, 'stderr');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(130);
    expect(server.stderr()).toMatch(/again, exiting without waiting/);
    socket.destroy();
  });

  it.skipIf(!fs.existsSync('/usr/bin/script'))(
    'logs readable lines to a terminal and JSON to the log file (and to stderr when it is not a terminal)',
    async () => {
      const workspace = tempWorkspace();
      const paths = workspacePaths(workspace);
      // util-linux `script` gives the server a real pseudo-terminal as its stdout and stderr.
      const command = `${process.execPath} ${BIN} serve --port 0 --workspace ${workspace}`;
      const tty = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let screen = '';
      tty.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
      const closed = new Promise((resolve) => tty.on('close', resolve));
      const waitScreen = async (pattern: RegExp) => {
        const deadline = Date.now() + 15_000;
        while (!pattern.test(screen)) {
          if (Date.now() > deadline || tty.exitCode !== null) throw new Error(`no ${pattern} in: ${screen}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      await waitScreen(LISTENING);
      const info = readServerInfo(paths.serverInfo)!;
      expect((await fetch(`${info.url}/health`)).status).toBe(200);
      // eslint-disable-next-line no-control-regex
      const plain = () => screen.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');
      await waitScreen(/GET \/health 200/);
      expect(plain()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request: GET \/health 200 \([\d.]+ ms\)/m);
      expect(plain()).not.toMatch(/^\{/m);
      process.kill(info.pid, 'SIGINT');
      await closed;
      const file = fs.readFileSync(paths.log, 'utf8').trim().split('\n');
      const records = file.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records).toContainEqual(
        expect.objectContaining({ msg: 'request', method: 'GET', path: '/health', status: 200 }),
      );

      // Not a terminal (a pipe): stderr carries the same JSON lines as the file.
      const piped = spawnLookout(['serve', '--port', '0', '--workspace', workspace]);
      await piped.waitFor(LISTENING);
      await piped.waitFor(/"msg":"listening"/, 'stderr');
      for (const line of piped.stderr().trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
      piped.child.kill('SIGTERM');
      expect(await piped.exited).toBe(0);
    },
  );

  it('refuses a busy port with one clear line and a non-zero exit, writing no server.json', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const workspace = tempWorkspace();
    const result = await runLookout([
      'serve',
      '--workspace',
      workspace,
      '--port',
      String(port),
      '--log-level',
      'silent',
    ]);
    blocker.close();
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `lookout: port ${port} is already in use on 127.0.0.1; pick another with --port N (or LOOKOUT_PORT; 0 picks a free one)`,
    );
    expect(fs.existsSync(workspacePaths(workspace).serverInfo)).toBe(false);
  });

  it('port in use at the default log level: one line, no "sonic boom is not ready yet" stack after it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const workspace = tempWorkspace();
    const result = await runLookout(['serve', '--workspace', workspace, '--port', String(port)]);
    blocker.close();
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/sonic boom|at .*:\d+:\d+/);
    expect(result.stderr.trim().split('\n')).toEqual([
      `lookout: port ${port} is already in use on 127.0.0.1; pick another with --port N (or LOOKOUT_PORT; 0 picks a free one)`,
    ]);
  });

  it('keeps the "Did you mean --port?" hint on the one line', async () => {
    const result = await runLookout(['serve', '--prot', '3000']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/unknown option '--prot' \(Did you mean --port\?\); see `lookout --help`/);
  });

  it.each([
    [['serve', '--port', 'abc'], /invalid setting port \(--port \/ LOOKOUT_PORT\)/],
    [['serve', '--port', '0', '--log-level', 'shouty'], /invalid setting logLevel/],
    [['serve', '--bogus'], /unknown option '--bogus'/],
    [['serve', '--port', '0', '--host', '0.0.0.0'], /refusing to bind non-loopback host/],
  ])('exits 2 on a bad flag: %j', async (args, message) => {
    const result = await runLookout([...args, '--workspace', tempWorkspace()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^lookout: /);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 on a bad LOOKOUT_* variable', async () => {
    const result = await runLookout(['serve', '--workspace', tempWorkspace()], { env: { LOOKOUT_PORT: '-5' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid setting port \(--port \/ LOOKOUT_PORT\).*"-5"/);
  });

  it('honours --sse-keepalive-ms (it was silently ignored) and exits 2 on a bad value', async () => {
    const bad = await runLookout(['serve', '--workspace', tempWorkspace(), '--port', '0', '--sse-keepalive-ms', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sse-keepalive-ms/);

    const workspace = tempWorkspace();
    const server = spawnLookout([
      'serve',
      '--workspace',
      workspace,
      '--port',
      '0',
      '--log-level',
      'warn',
      '--sse-keepalive-ms',
      '150',
    ]);
    const [, url] = await server.waitFor(LISTENING);
    const token = readServerInfo(workspacePaths(workspace).serverInfo)!.token;
    const controller = new AbortController();
    const res = await fetch(`${url}/api/v1/sse`, { headers: { 'x-session-token': token }, signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    // The default interval is 15 s: a keep-alive comment soon means the flag took effect.
    const started = Date.now();
    while (!text.includes(': keep-alive') && Date.now() - started < 10_000) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain(': keep-alive');
    expect(Date.now() - started).toBeLessThan(10_000);
    controller.abort();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses a workspace it cannot write, with one line', async () => {
    const parent = tempWorkspace();
    const workspace = path.join(parent, 'ws');
    fs.writeFileSync(workspace, 'not a directory');
    const result = await runLookout(['serve', '--workspace', workspace, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/is not a directory/);

    const blocked = tempWorkspace();
    fs.writeFileSync(path.join(blocked, '.lookout'), 'a file where the state dir should be');
    const second = await runLookout(['serve', '--workspace', blocked, '--port', '0']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/refusing to use .*\.lookout: it is not a directory/);
  });

  it('prints help for serve and the version', async () => {
    const help = await runLookout(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--port <value>/);
    const version = await runLookout(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
