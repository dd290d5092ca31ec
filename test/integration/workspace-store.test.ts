import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src-main/runtime.ts';
import { openDatabase } from '../../src-main/store/database.ts';
import { SCHEMA_VERSION } from '../../src-main/store/migrations.ts';
import { readServerInfo, workspacePaths } from '../../src-main/workspace.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('workspace state and store', () => {
  it('creates .lookout/ (0700, self-ignoring) and server.json (0600) once listening; stop removes it', async () => {
    const runtime = await startRuntime();
    const paths = runtime.paths;
    expect(mode(paths.stateDir)).toBe(0o700);
    expect(fs.readFileSync(path.join(paths.stateDir, '.gitignore'), 'utf8').trim()).toBe('*');
    expect(mode(paths.serverInfo)).toBe(0o600);
    expect(readServerInfo(paths.serverInfo)).toEqual({
      url: runtime.url,
      port: runtime.port,
      pid: process.pid,
      token: runtime.token,
      version: runtime.info.version,
      started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(runtime.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    await runtime.stop();
    expect(fs.existsSync(paths.serverInfo)).toBe(false);
    await runtime.stop(); // idempotent
  });

  it('replaces a stale server.json whose pid is dead', async () => {
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    fs.mkdirSync(paths.stateDir, { recursive: true });
    fs.writeFileSync(
      paths.serverInfo,
      JSON.stringify({
        url: 'http://127.0.0.1:1',
        port: 1,
        pid: 2 ** 22 + 12345,
        token: 'old',
        version: '0.0.1',
        started_at: '2020-01-01T00:00:00.000Z',
      }),
    );
    const runtime = await startRuntime({ workspace });
    expect(readServerInfo(paths.serverInfo)?.token).toBe(runtime.token);
  });

  it('refuses a second server on a workspace another live server answers for', async () => {
    const first = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'silent' });
    try {
      await expect(createRuntime({ workspace: first.config.workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(
        new RegExp(`already serving .* at ${first.url.replaceAll('.', '\\.')}`),
      );
      expect(readServerInfo(first.paths.serverInfo)?.token).toBe(first.token); // untouched
    } finally {
      await first.stop();
    }
  });

  it('replaces a stale server.json whose pid now belongs to another process (not a Lookout server)', async () => {
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    fs.mkdirSync(paths.stateDir, { recursive: true });
    // pid 1 is always alive, but nothing on the recorded port answers /health with this started_at.
    fs.writeFileSync(
      paths.serverInfo,
      JSON.stringify({
        url: 'http://127.0.0.1:9',
        port: 9,
        pid: 1,
        token: 't',
        version: '0.1.0',
        started_at: '2026-01-01T00:00:00.000Z',
      }),
    );
    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    try {
      expect(readServerInfo(paths.serverInfo)?.pid).toBe(process.pid);
    } finally {
      await runtime.stop();
    }
  });

  it('replaces a stale server.json whose port now answers with another started_at', async () => {
    const other = await createRuntime({ workspace: tempWorkspace(), port: 0, logLevel: 'silent' });
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    fs.mkdirSync(paths.stateDir, { recursive: true });
    fs.writeFileSync(
      paths.serverInfo,
      JSON.stringify({ ...other.info, started_at: '2026-01-01T00:00:00.000Z', token: 'stale' }),
    );
    try {
      const runtime = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
      expect(readServerInfo(paths.serverInfo)?.token).toBe(runtime.token);
      await runtime.stop();
    } finally {
      await other.stop();
    }
  });

  it('refuses a corrupt database with a clear message and leaves it as it was', async () => {
    const workspace = tempWorkspace();
    const paths = workspacePaths(workspace);
    fs.mkdirSync(paths.stateDir, { recursive: true });
    const garbage = Buffer.alloc(8192, 0x5a);
    fs.writeFileSync(paths.database, garbage);
    await expect(createRuntime({ workspace, port: 0, logLevel: 'silent' })).rejects.toThrow(
      /lookout\.db cannot be used: .*corrupt.*move the database and its -wal and -shm aside together: lookout db set-aside \(or: cd .* lookout\.db lookout\.db-wal lookout\.db-shm; do/,
    );
    expect(fs.readFileSync(paths.database).equals(garbage)).toBe(true);
    expect(fs.existsSync(paths.serverInfo)).toBe(false);
  });

  it('refuses a database from a newer Lookout', async () => {
    const workspace = tempWorkspace();
    const file = path.join(workspace, 'x.db');
    await openDatabase(file).close();
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 5}`);
    db.close();
    expect(() => openDatabase(file)).toThrow(
      new RegExp(
        `schema is version ${SCHEMA_VERSION + 5}, newer than this Lookout understands \\(${SCHEMA_VERSION}\\); upgrade`,
      ),
    );
  });

  it('migrates a new store to the latest schema in WAL mode and keeps its epoch', async () => {
    const file = path.join(tempWorkspace(), 'x.db');
    const first = openDatabase(file);
    expect(first.schemaVersion).toBe(SCHEMA_VERSION);
    expect((first.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    const epoch = first.epoch;
    await first.close();
    const again = openDatabase(file);
    expect(again.epoch).toBe(epoch);
    await again.close();
    fs.rmSync(file);
    const recreated = openDatabase(file);
    expect(recreated.epoch).not.toBe(epoch);
    await recreated.close();
  });

  it('says what is wrong with a workspace that is missing or a file', async () => {
    await expect(createRuntime({ workspace: '/nonexistent/lookout-ws', port: 0 })).rejects.toThrow(/does not exist/);
    const file = path.join(tempWorkspace(), 'plain-file');
    fs.writeFileSync(file, '');
    await expect(createRuntime({ workspace: file, port: 0 })).rejects.toThrow(/is not a directory/);
  });
});

describe('WAL checkpoints', () => {
  it('are taken off the event loop by a worker: the WAL is folded back while the server runs', async () => {
    const runtime = await startRuntime();
    const wal = `${runtime.paths.database}-wal`;
    const blob = 'x'.repeat(4000);
    for (let i = 0; i < 5; i++) {
      await runtime.bus.publish(
        Array.from({ length: 200 }, () => ({ type: 'x.fill', data: { blob } })),
        { batch: true },
      );
    }
    // Automatic checkpoints are off on the main connection…
    expect(
      (runtime.database.db.prepare('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number })
        .wal_autocheckpoint,
    ).toBe(0);
    // …yet the rows reach the main database file: only the worker can have copied them.
    const before = fs.statSync(runtime.paths.database).size;
    expect(before).toBeLessThan(1_000_000);
    const started = Date.now();
    while (fs.statSync(runtime.paths.database).size < 3_000_000) {
      if (Date.now() - started > 5000)
        throw new Error(`no checkpoint: database is ${fs.statSync(runtime.paths.database).size} bytes`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(fs.statSync(wal).size).toBeGreaterThan(0);
    await runtime.stop();
    // A clean stop leaves a self-contained database file.
    expect(fs.existsSync(wal) ? fs.statSync(wal).size : 0).toBe(0);
  });
});
