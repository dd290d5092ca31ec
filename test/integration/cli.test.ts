import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { isHeld, readHolder } from '../../src-main/session/lock.ts';
import { runLookout, spawnLookout } from '../helpers/cli.ts';
import { api, startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A child for `lookout run` that reports its environment and waits until stdin closes. */
const HOLDER_CHILD = [
  process.execPath,
  '-e',
  // Handlers first, then "ready": the test acts as soon as it reads that line.
  "process.on('SIGINT', () => { console.log('child got SIGINT'); process.exit(42); }); process.stdin.resume(); process.stdin.on('end', () => process.exit(5)); console.log('ready ' + JSON.stringify({id: process.env.LOOKOUT_LOCK_ID, url: process.env.LOOKOUT_URL, token: process.env.LOOKOUT_TOKEN}));",
];

async function until<T>(probe: () => T | Promise<T>, accept: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await delay(50);
  }
}

const session = async (runtime: Runtime) =>
  (await (await api(runtime, '/api/v1/session')).json()) as {
    read_only: boolean;
    lock: { holder: string | null; pid: number | null; id: string | null };
  };

describe('lookout run and the session lock', () => {
  it('hands the workspace over and back: read-only with 423 naming the holder, X-Lock-Id bypass, events still accepted', async () => {
    const runtime = await startRuntime();
    expect(await session(runtime)).toMatchObject({ read_only: false, lock: { holder: 'server', pid: process.pid } });
    const run = spawnLookout(['run', '--workspace', runtime.config.workspace, '--', ...HOLDER_CHILD]);
    const [, envJson] = await run.waitFor(/ready (.*)\n/);
    const env = JSON.parse(envJson!) as { id: string; url: string; token: string };
    expect(env.url).toBe(runtime.url);
    expect(env.token).toBe(runtime.token);

    const held = await until(
      () => session(runtime),
      (s) => s.lock.holder === 'cli',
    );
    expect(held).toMatchObject({ read_only: true, lock: { holder: 'cli', pid: run.child.pid, id: env.id } });

    const refused = await api(runtime, '/api/v1/session/handover', { method: 'POST' });
    expect(refused.status).toBe(200); // asking is allowed; the server has nothing to give
    const write = await api(runtime, '/api/v1/system/status', { method: 'POST', json: { progress: 10 } });
    expect(write.status).toBe(423);
    const body = (await write.json()) as {
      error: { code: string; message: string; details: { lock: { pid: number } } };
    };
    expect(body.error.code).toBe('read_only');
    expect(body.error.message).toContain(`CLI pid ${run.child.pid}`);
    expect(body.error.details.lock.pid).toBe(run.child.pid);

    const bypass = await api(runtime, '/api/v1/system/status', {
      method: 'POST',
      json: { progress: 10 },
      headers: { 'x-lock-id': env.id },
    });
    expect(bypass.status).not.toBe(423);
    const wrongId = await api(runtime, '/api/v1/system/status', {
      method: 'POST',
      json: { progress: 10 },
      headers: { 'x-lock-id': 'not-the-id' },
    });
    expect(wrongId.status).toBe(423);
    const event = await api(runtime, '/api/v1/events', { method: 'POST', json: { type: 'x.during', data: {} } });
    expect(event.status).toBe(201);

    run.child.stdin!.end();
    expect(await run.exited).toBe(5); // the child's own exit code
    const back = await until(
      () => session(runtime),
      (s) => s.lock.holder === 'server',
      5000,
    );
    expect(back.read_only).toBe(false);
    expect((await api(runtime, '/api/v1/system/status', { method: 'POST', json: { progress: 10 } })).status).toBe(200);

    // Every change was published, in order.
    const page = (await (await api(runtime, '/api/v1/events?types=session.lock_changed&limit=1000')).json()) as {
      events: { data: { read_only: boolean; lock: { holder: string | null } } }[];
    };
    const holders = page.events.map((e) => e.data.lock.holder);
    expect(holders).toEqual(['server', null, 'cli', 'server']);
  });

  it('exits 3 while another CLI holds the workspace, and succeeds with --wait once it is released', async () => {
    const workspace = tempWorkspace();
    const first = spawnLookout(['run', '--workspace', workspace, '--', ...HOLDER_CHILD]);
    await first.waitFor(/ready/);
    const refused = await runLookout([
      'run',
      '--workspace',
      workspace,
      '--',
      process.execPath,
      '-e',
      'process.exit(0)',
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim()).toMatch(
      new RegExp(
        `^lookout: the workspace is held by CLI pid ${first.child.pid} .*; wait for it with \`lookout run --wait`,
      ),
    );
    const timedOut = await runLookout([
      'run',
      '--wait=0.5',
      '--workspace',
      workspace,
      '--',
      process.execPath,
      '-e',
      'process.exit(0)',
    ]);
    expect(timedOut.code).toBe(3);
    expect(timedOut.stderr).toMatch(/gave up after 0\.5 s/);

    const waiting = spawnLookout([
      'run',
      '--wait',
      '--workspace',
      workspace,
      '--',
      process.execPath,
      '-e',
      "console.log('second ran'); process.exit(9)",
    ]);
    await waiting.waitFor(/waiting for the workspace/, 'stderr');
    first.child.stdin!.end();
    expect(await first.exited).toBe(5);
    expect(await waiting.exited).toBe(9);
    expect(waiting.stdout()).toContain('second ran');
    expect(
      isHeld({ stateDir: path.join(workspace, '.lookout'), lock: path.join(workspace, '.lookout', 'session.lock') }),
    ).toBe(false);
  });

  it('reclaims the lock of a SIGKILLed CLI within 5 s', async () => {
    const runtime = await startRuntime();
    const run = spawnLookout(['run', '--workspace', runtime.config.workspace, '--', ...HOLDER_CHILD]);
    await run.waitFor(/ready/);
    await until(
      () => session(runtime),
      (s) => s.lock.holder === 'cli',
    );
    run.child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(
      () => session(runtime),
      (s) => s.lock.holder === 'server',
      6000,
    );
    expect(Date.now() - killedAt).toBeLessThan(5000);
  });

  it('brings a server up read-only while a CLI holds the workspace, and writable after the release', async () => {
    const workspace = tempWorkspace();
    const run = spawnLookout(['run', '--workspace', workspace, '--', ...HOLDER_CHILD]);
    const [, envJson] = await run.waitFor(/ready (.*)\n/);
    expect(JSON.parse(envJson!).url).toBeUndefined(); // no server was running
    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      expect(await session(runtime)).toMatchObject({ read_only: true, lock: { holder: 'cli', pid: run.child.pid } });
      expect((await api(runtime, '/api/v1/system/status', { method: 'POST', json: { progress: 1 } })).status).toBe(423);
      run.child.stdin!.end();
      await run.exited;
      await until(
        () => session(runtime),
        (s) => !s.read_only,
        5000,
      );
    } finally {
      await runtime.stop();
    }
  });

  it('SIGINT to run stops the child, releases the lock and passes the exit code through', async () => {
    const workspace = tempWorkspace();
    const run = spawnLookout(['run', '--workspace', workspace, '--', ...HOLDER_CHILD]);
    await run.waitFor(/ready/);
    const paths = {
      stateDir: path.join(workspace, '.lookout'),
      lock: path.join(workspace, '.lookout', 'session.lock'),
    };
    expect(readHolder(paths)?.kind).toBe('cli');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(42);
    expect(run.stdout()).toContain('child got SIGINT');
    expect(isHeld(paths)).toBe(false);
    expect(fs.existsSync(paths.lock)).toBe(false);
  });

  it('reports a command that does not exist with 127 and releases the lock', async () => {
    const workspace = tempWorkspace();
    const result = await runLookout(['run', '--workspace', workspace, '--', 'definitely-not-a-command-xyz']);
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/cannot run definitely-not-a-command-xyz: command not found/);
    expect(fs.existsSync(path.join(workspace, '.lookout', 'session.lock'))).toBe(false);
  });
});

describe('lookout status, emit, tail', () => {
  it('status exits 0 with the figures when a server runs and 1 when none does', async () => {
    const runtime = await startRuntime();
    const running = await runLookout(['status', '--json', '--workspace', runtime.config.workspace]);
    expect(running.code).toBe(0);
    expect(JSON.parse(running.stdout)).toMatchObject({
      running: true,
      url: runtime.url,
      pid: process.pid,
      session: { read_only: false },
      last_sequence_number: expect.any(Number),
      clients: { websocket: 0 },
    });
    const text = await runLookout(['status'], { cwd: path.join(runtime.config.workspace) });
    expect(text.stdout).toMatch(/running at http:\/\/127\.0\.0\.1:\d+/);
    await runtime.stop();
    const stopped = await runLookout(['status', '--workspace', runtime.config.workspace]);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toMatch(/not running/);
  });

  it('finds the workspace from a subdirectory, like git', async () => {
    const runtime = await startRuntime();
    const deep = path.join(runtime.config.workspace, 'a', 'b');
    fs.mkdirSync(deep, { recursive: true });
    const result = await runLookout(['emit', 'x.found', '--data', '{"ok":true}'], { cwd: deep });
    expect(result.code).toBe(0);
    expect(Number(result.stdout.trim())).toBe(runtime.bus.log.lastSequenceNumber);
  });

  it('emit publishes from an argument, a file and stdin, and reports rejections in one line', async () => {
    const runtime = await startRuntime();
    const ws = runtime.config.workspace;
    const one = await runLookout([
      'emit',
      'workflow.started',
      '--workspace',
      ws,
      '--data',
      '{"workflow_id":"w1"}',
      '--metadata',
      '{"agent":"a"}',
    ]);
    expect(one.code).toBe(0);
    const file = path.join(ws, 'data.json');
    fs.writeFileSync(file, '{"workflow_id":"w2","error":"boom"}');
    expect((await runLookout(['emit', 'workflow.failed', '--workspace', ws, '--data', `@${file}`])).code).toBe(0);
    expect(
      (await runLookout(['emit', 'chat.message_sent', '--workspace', ws, '--data', '-'], { input: '{"text":"piped"}' }))
        .code,
    ).toBe(0);
    const lines = Array.from({ length: 1500 }, (_, i) => JSON.stringify({ type: 'x.line', data: { i } })).join('\n');
    const batch = await runLookout(['emit', '--stdin', '--workspace', ws], { input: `${lines}\n` });
    expect(batch.code).toBe(0);
    expect(batch.stdout.trim().split('\n')).toHaveLength(1500);

    const page = (await (await api(runtime, '/api/v1/events?types=workflow.*,chat.*&limit=10')).json()) as {
      events: { type: string; data: Record<string, unknown>; metadata?: unknown }[];
    };
    expect(page.events.map((e) => e.type)).toEqual(['workflow.started', 'workflow.failed', 'chat.message_sent']);
    expect(page.events[0]!.metadata).toEqual({ agent: 'a' });
    const xs = (await (await api(runtime, '/api/v1/events?types=x.line&limit=1000')).json()) as {
      events: { data: { i: number } }[];
    };
    expect(xs.events.map((e) => e.data.i).slice(0, 3)).toEqual([0, 1, 2]);

    const bad = await runLookout(['emit', 'workflow.failed', '--workspace', ws, '--data', '{"workflow_id":"w"}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('lookout: event workflow.failed: data.error: required (string); nothing was sent');
    const badLine = await runLookout(['emit', '--stdin', '--workspace', ws], {
      input: '{"type":"x.a","data":{}}\nnot json\n',
    });
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toMatch(/stdin line 2 is not valid JSON/);
    const notJson = await runLookout(['emit', 'x.a', '--workspace', ws, '--data', '{oops']);
    expect(notJson.code).toBe(2);
    const tooBig = await runLookout([
      'emit',
      'x.big',
      '--workspace',
      ws,
      '--data',
      JSON.stringify({ blob: 'a'.repeat(70_000) }),
    ]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(/^lookout: the server refused: .*65536/);
  });

  it('emit --stdin stopped by a bad line sends the good lines before it and says exactly which, exit 2', async () => {
    const runtime = await startRuntime();
    const ws = runtime.config.workspace;
    const stored = async (type: string) =>
      ((await (await api(runtime, `/api/v1/events?types=${type}&limit=100`)).json()) as { events: unknown[] }).events;
    const good = (i: number) => JSON.stringify({ type: 'x.good', data: { i } });
    // Lines 1–3 are still in the unflushed batch when line 5 (after a blank line) fails the catalogue.
    const input = [good(1), good(2), good(3), '', '{"type":"workflow.failed","data":{"workflow_id":"w"}}', good(6)];
    const result = await runLookout(['emit', '--stdin', '--workspace', ws], { input: `${input.join('\n')}\n` });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'lookout: stdin line 5: data.error: required (string); the 3 events on lines 1–3 were sent (numbers above), nothing from line 5 on\n',
    );
    expect(result.stdout.trim().split('\n')).toHaveLength(3);
    expect(await stored('x.good')).toHaveLength(3);

    const first = await runLookout(['emit', '--stdin', '--workspace', ws], { input: 'nope\n' + good(9) + '\n' });
    expect(first.code).toBe(2);
    expect(first.stderr).toMatch(/^lookout: stdin line 1 is not valid JSON \(.*\); nothing was sent\n$/);
    expect(await stored('x.good')).toHaveLength(3);

    // A batch the server refuses (too large an event): exit 1, the refused lines named, nothing of it stored.
    const big = JSON.stringify({ type: 'x.big', data: { blob: 'a'.repeat(70_000) } });
    const refused = await runLookout(['emit', '--stdin', '--workspace', ws], {
      input: `${JSON.stringify({ type: 'x.big', data: {} })}\n${big}\n`,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^lookout: stdin lines 1–2: the server refused: .*65536.*; nothing was sent\n$/);
    expect(await stored('x.big')).toHaveLength(0);
  });

  it('emit and tail say what to do when no server runs', async () => {
    const workspace = tempWorkspace();
    fs.mkdirSync(path.join(workspace, '.lookout'));
    const result = await runLookout(['emit', 'x.a', '--workspace', workspace]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `lookout: no Lookout server is running for ${workspace}; start one with \`lookout serve --workspace ${workspace}\``,
    );
    const nowhere = await runLookout(['tail'], { cwd: '/' });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/no Lookout workspace in \/ or above/);
  });

  it('tail --last N shows the newest N matching events, then live ones; --last with --since is a usage error', async () => {
    const runtime = await startRuntime();
    const workspace = runtime.config.workspace;
    await runtime.bus.publish(Array.from({ length: 6 }, (_, i) => ({ type: 'x.n', data: { i } })));
    await runtime.bus.publish([{ type: 'chat.message_sent', data: { text: 'not matching' } }]);
    const tail = spawnLookout(['tail', '--json', '--last', '2', '--types', 'x.*', '--workspace', workspace]);
    await tail.waitFor(/following/, 'stderr');
    await tail.waitFor(/"i":5/);
    await runtime.bus.publish([{ type: 'x.n', data: { i: 6 } }]);
    await tail.waitFor(/"i":6/);
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    const lines = tail
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { data: { i: number } });
    expect(lines.map((l) => l.data.i)).toEqual([4, 5, 6]);

    const both = await runLookout(['tail', '--last', '2', '--since', '3', '--workspace', workspace]);
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toBe('lookout: --last and --since both say where to start; give one');
    const bad = await runLookout(['tail', '--last', 'ten', '--workspace', workspace]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'lookout: --last takes a number of events (a non-negative integer in plain decimal digits); got "ten"',
    );
  });

  it('tail --json prints only JSON lines in order and resumes across a server restart', async () => {
    const workspace = tempWorkspace();
    const serve = () => spawnLookout(['serve', '--workspace', workspace, '--port', '0', '--log-level', 'warn']);
    let server = serve();
    await server.waitFor(/listening on/);
    const tail = spawnLookout(['tail', '--json', '--types', 'x.*', '--since', '0', '--workspace', workspace]);
    await tail.waitFor(/following/, 'stderr');
    for (let i = 0; i < 5; i++)
      expect((await runLookout(['emit', 'x.n', '--workspace', workspace, '--data', JSON.stringify({ i })])).code).toBe(
        0,
      );
    await tail.waitFor(/"i":4/);
    server.child.kill('SIGTERM');
    await server.exited;
    await tail.waitFor(/connection lost/, 'stderr');
    server = serve();
    await server.waitFor(/listening on/);
    for (let i = 5; i < 8; i++)
      expect((await runLookout(['emit', 'x.n', '--workspace', workspace, '--data', JSON.stringify({ i })])).code).toBe(
        0,
      );
    await tail.waitFor(/"i":7/, 'stdout', 15_000);
    tail.child.kill('SIGINT');
    expect(await tail.exited).toBe(0);
    const lines = tail
      .stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; sequence_number: number; data: { i: number } });
    expect(lines.map((l) => l.data.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const seqs = lines.map((l) => l.sequence_number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    server.child.kill('SIGTERM');
    await server.exited;
  });
});

describe('lookout open', () => {
  it('prints a sign-in URL with a one-time code, never the token; the page exchanges the code once by POST', async () => {
    const runtime = await startRuntime();
    const printed = await runLookout(['open', '--print', '--workspace', runtime.config.workspace]);
    expect(printed.code).toBe(0);
    const url = new URL(printed.stdout.trim());
    expect(url.origin).toBe(runtime.url);
    expect(printed.stdout).not.toContain(runtime.token);
    const code = url.searchParams.get('code')!;
    expect(code).toMatch(/^[\w-]{20,}$/);
    // GET with the code grants nothing by itself (no cookie, no redirect).
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.headers.get('set-cookie')).toBeNull();
    const exchange = () =>
      fetch(`${runtime.url}/api/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
    expect((await exchange()).status).toBe(200);
    expect((await exchange()).status).toBe(401);
  });

  it('says where to go when no browser can be started', async () => {
    const runtime = await startRuntime();
    // An empty PATH: neither xdg-open nor open exists.
    const result = await runLookout(['open', '--workspace', runtime.config.workspace], {
      env: { PATH: '/nonexistent' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/could not start xdg-open \(ENOENT\).*open this URL yourself/);
    expect(result.stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?code=[\w-]+\n$/);
  });

  it.skipIf(process.platform !== 'linux')(
    'reports an opener that fails (headless xdg-open exits 3) and no process argv ever holds the token',
    async () => {
      const runtime = await startRuntime();
      const bin = tempWorkspace();
      const seen = path.join(bin, 'argv');
      // A stand-in for xdg-open on a machine without a desktop: records its argv, lingers, exits 3.
      fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$*" > '${seen}'\nsleep 0.5\nexit 3\n`, {
        mode: 0o755,
      });
      const child = spawnLookout(['open', '--workspace', runtime.config.workspace], {
        env: { PATH: `${bin}:/usr/bin:/bin` },
      });
      // While it runs, no process on the machine shows the token in its command line.
      const leaks: string[] = [];
      const scan = setInterval(() => {
        for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
          try {
            if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runtime.token)) leaks.push(pid);
          } catch {
            // gone, or not ours to read
          }
        }
      }, 50);
      const code = await child.exited;
      clearInterval(scan);
      expect(code).toBe(1);
      expect(child.stderr()).toMatch(/xdg-open failed \(exit code 3\)/);
      expect(child.stdout()).toMatch(/\/\?code=[\w-]+\n$/);
      expect(fs.readFileSync(seen, 'utf8')).toMatch(/\/\?code=/);
      expect(fs.readFileSync(seen, 'utf8')).not.toContain(runtime.token);
      expect(leaks).toEqual([]);
    },
  );
});

describe('lookout user and lookout auth', () => {
  it('adds (stdin or generated password), lists, changes, disables and removes users; rotates the key', async () => {
    const runtime = await startRuntime();
    const ws = ['--workspace', runtime.config.workspace];
    const added = await runLookout(['user', 'add', 'ada', '--role', 'operator', ...ws], {
      input: 'correct horse battery\n',
    });
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('created ada (operator)\n');
    const generated = await runLookout(['user', 'add', 'Zoë', '--role', 'viewer', '--generate', ...ws]);
    const password = generated.stdout.match(/^password: (\S+)$/m)?.[1];
    expect(password).toHaveLength(20);
    const signIn = (name: string, pw: string) =>
      fetch(`${runtime.url}/api/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, password: pw }),
      });
    expect((await signIn('Zoë', password!)).status).toBe(200);
    expect((await signIn('ada', 'correct horse battery')).status).toBe(200);

    const duplicate = await runLookout(['user', 'add', 'ADA', '--role', 'viewer', ...ws], {
      input: 'another password\n',
    });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toBe('lookout: the server refused: a user named ADA exists already\n');
    const badRole = await runLookout(['user', 'add', 'bob', '--role', 'root', ...ws], { input: 'whatever123\n' });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/unknown role "root": use viewer, operator or admin/);
    const short = await runLookout(['user', 'add', 'bob', '--role', 'viewer', ...ws], { input: 'short\n' });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 8 characters; nothing was changed/);

    const list = await runLookout(['user', 'list', '--json', ...ws]);
    expect(
      (JSON.parse(list.stdout) as { users: { name: string; role: string }[] }).users.map((u) => [u.name, u.role]),
    ).toEqual([
      ['ada', 'operator'],
      ['Zoë', 'viewer'],
    ]);
    expect((await runLookout(['user', 'passwd', 'ada', ...ws], { input: 'a new password\n' })).code).toBe(0);
    expect((await signIn('ada', 'correct horse battery')).status).toBe(401);
    expect((await signIn('ada', 'a new password')).status).toBe(200);
    expect((await runLookout(['user', 'role', 'ada', 'admin', ...ws])).stdout).toBe('ada is now admin\n');
    expect((await runLookout(['user', 'disable', 'ada', ...ws])).code).toBe(0);
    expect((await signIn('ada', 'a new password')).status).toBe(401);
    expect((await runLookout(['user', 'enable', 'ada', ...ws])).code).toBe(0);
    expect((await runLookout(['user', 'remove', 'ada', ...ws])).stdout).toBe('removed ada\n');
    const missing = await runLookout(['user', 'remove', 'ada', ...ws]);
    expect(missing.stderr).toBe('lookout: the server refused: no user "ada"\n');

    const rotated = await runLookout(['auth', 'rotate-key', ...ws]);
    expect(rotated.stdout).toMatch(/^signing key replaced; \d+ sign-in\(s\) ended\n$/);
  }, 60_000);
});

describe('lookout user without a server', () => {
  it('sets users up on the store before the first serve; the server then signs them in', async () => {
    const workspace = tempWorkspace();
    const ws = ['--workspace', workspace];
    const added = await runLookout(['user', 'add', 'ada', '--role', 'admin', ...ws], {
      input: 'correct horse battery\n',
    });
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('created ada (admin)\n');
    const duplicate = await runLookout(['user', 'add', 'Ada', '--role', 'viewer', ...ws], {
      input: 'correct horse battery\n',
    });
    expect(duplicate.stderr).toBe('lookout: a user named Ada exists already\n');
    expect(duplicate.code).toBe(1);
    expect((await runLookout(['user', 'role', 'ghost', 'viewer', ...ws])).stderr).toBe('lookout: no user "ghost"\n');
    const list = JSON.parse((await runLookout(['user', 'list', '--json', ...ws])).stdout) as {
      users: { name: string }[];
    };
    expect(list.users.map((u) => u.name)).toEqual(['ada']);

    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'warn' });
    try {
      const signIn = await fetch(`${runtime.url}/api/v1/auth/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'ada', password: 'correct horse battery' }),
      });
      expect(signIn.status).toBe(200);
      const created = (await (await api(runtime, '/api/v1/events?types=auth.user_created')).json()) as {
        events: { data: { name: string; by: string } }[];
      };
      expect(created.events.map((e) => [e.data.name, e.data.by])).toEqual([['ada', 'owner']]);
    } finally {
      await runtime.stop();
    }
  }, 60_000);
});
