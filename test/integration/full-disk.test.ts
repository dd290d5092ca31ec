import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerInfo } from '../../src-shared/server-info.ts';
import { createRuntime } from '../../src-main/runtime.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { mountTmpfs, type Tmpfs, tmpfsAvailable } from '../helpers/tmpfs.ts';

// A real full disk: a small tmpfs mounted for the test, filled until the kernel answers
// ENOSPC. (No fault-injection layer: where mounting is not allowed, these tests skip.)
const canMount = tmpfsAvailable();

const mounts: Tmpfs[] = [];
afterEach(() => {
  for (const mount of mounts.splice(0)) mount.unmount();
});

function workspaceOnTmpfs(sizeBytes = 16 * 1024 * 1024): { fs: Tmpfs; workspace: string } {
  const mount = mountTmpfs(sizeBytes);
  mounts.push(mount);
  const workspace = path.join(mount.dir, 'ws');
  fs.mkdirSync(workspace);
  return { fs: mount, workspace };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const event = (n: number) => ({ type: 'x.test.note', data: { text: `event ${n}` } });

describe.skipIf(!canMount)('a full disk (real tmpfs)', () => {
  it('never takes lookout serve down: 507 for writes, reads and /health work, writes resume, a clean stop', async () => {
    const { fs: disk, workspace } = workspaceOnTmpfs();
    const serve = spawnLookout(['serve', '--port', '0', '--workspace', workspace]);
    const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
    const info = ServerInfo.parse(JSON.parse(fs.readFileSync(path.join(workspace, '.lookout/server.json'), 'utf8')));
    const headers = { 'x-session-token': info.token, 'content-type': 'application/json' };
    const post = (body: unknown) =>
      fetch(`${url}/api/v1/events`, { method: 'POST', headers, body: JSON.stringify(body) });

    expect((await post(event(1))).status).toBe(201);
    const before = (await (await fetch(`${url}/health`)).json()) as { store: { last_sequence_number: number } };

    disk.fill();
    // A batch large enough to need new WAL pages: refused as a whole with 507.
    const refused = await post({ events: Array.from({ length: 200 }, (_, i) => event(100 + i)) });
    expect(refused.status).toBe(507);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('insufficient_storage');
    expect(body.error.message).toMatch(/disk .* is full: nothing of this request was stored/);

    // Logging to the file has failed by now (the access log lines); the server says so.
    const degraded = await until(async () => {
      const health = (await (await fetch(`${url}/health`)).json()) as {
        status: string;
        log: { status: string; error?: string };
        store: { last_sequence_number: number };
      };
      return health.log.status === 'degraded' ? health : undefined;
    }, '/health to report the log degraded');
    expect(degraded.status).toBe('degraded');
    expect(degraded.log.error).toBe('ENOSPC');
    expect(degraded.store.last_sequence_number).toBe(before.store.last_sequence_number); // nothing half-written

    // Reads work on a full disk.
    const read = await fetch(`${url}/api/v1/events?after=0&limit=1000`, { headers });
    expect(read.status).toBe(200);
    const events = ((await read.json()) as { events: { data: { text?: string } }[] }).events;
    expect(events.some((e) => e.data.text === 'event 100')).toBe(false);

    // Space returns: writes and logging resume by themselves.
    disk.free();
    const accepted = await post(event(2));
    expect(accepted.status).toBe(201);
    const stored = (await accepted.json()) as { events: { sequence_number: number }[] };
    expect(stored.events[0]!.sequence_number).toBe(before.store.last_sequence_number + 1);
    await until(async () => {
      await fetch(`${url}/health`); // each request writes a log line: the retry after a pause
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string; log: { status: string } };
      return health.log.status === 'ok' && health.status === 'ok' ? true : undefined;
    }, 'file logging to resume');

    // Said once on stderr, not once per line.
    expect(serve.stderr().match(/file logging is paused/g)).toHaveLength(1);
    expect(serve.stderr()).toMatch(/writing .*lookout\.log again/);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(fs.existsSync(path.join(workspace, '.lookout/server.json'))).toBe(false);
    expect(fs.existsSync(path.join(workspace, '.lookout/session.lock'))).toBe(false);
  });

  it('stops on SIGTERM while the disk is still full: lock released, server.json removed, exit 1 naming the failed step', async () => {
    const { fs: disk, workspace } = workspaceOnTmpfs();
    const serve = spawnLookout(['serve', '--port', '0', '--workspace', workspace, '--log-level', 'warn']);
    const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
    disk.fill();
    // Enough traffic that the log file has hit ENOSPC.
    for (let i = 0; i < 50; i++) await fetch(`${url}/health`);
    serve.child.kill('SIGTERM');
    const code = await serve.exited;
    expect(serve.stderr()).not.toMatch(/sonic boom|uncaught|^\s+at \S+/im);
    // Recording system.stopping needs disk space: that step fails, is named, and the exit is 1.
    expect(code).toBe(1);
    expect(serve.stderr()).toMatch(/stopped, but a step failed: record stop: database or disk is full/);
    expect(fs.existsSync(path.join(workspace, '.lookout/server.json'))).toBe(false);
    expect(fs.existsSync(path.join(workspace, '.lookout/session.lock'))).toBe(false);
  });

  it('says "no space left" when starting on a full disk, never "corrupt"', async () => {
    const { fs: disk, workspace } = workspaceOnTmpfs();
    disk.fill();
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(/no space left/);
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.not.toThrow(/corrupt/);
  });

  it('says "no space left" when an existing database cannot be opened on a full disk', async () => {
    const { fs: disk, workspace } = workspaceOnTmpfs();
    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    await runtime.bus.publish([event(1)]);
    await runtime.stop();
    disk.fill();
    const start = createRuntime({ workspace, port: 0, logLevel: 'silent' });
    await expect(start).rejects.toThrow(/no space left on device/);
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.not.toThrow(/corrupt|\.bad/);
  });
});
