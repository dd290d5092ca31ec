import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogFile } from '../../src-main/logger.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

describe('lookout.log', () => {
  it('rotates by size while the server runs, however many requests arrive', async () => {
    const runtime = await startRuntime({ logLevel: 'info', logMaxBytes: 64 * 1024 });
    // Unauthenticated requests with long paths: the flood the issue measured (153 MiB in 5 s).
    const long = 'p'.repeat(15_000);
    for (let round = 0; round < 20; round++)
      await Promise.all(Array.from({ length: 25 }, (_, i) => fetch(`${runtime.url}/${long}${round}-${i}`)));
    await runtime.stop();
    const current = fs.statSync(runtime.paths.log).size;
    const previous = fs.statSync(`${runtime.paths.log}.1`).size;
    // Each file ends within one flush of the limit; the total is bounded by two files.
    expect(current).toBeLessThan(64 * 1024 + 128 * 1024);
    expect(previous).toBeLessThan(64 * 1024 + 128 * 1024);
    expect(previous).toBeGreaterThanOrEqual(64 * 1024);
    expect(fs.statSync(`${runtime.paths.log}.1`).mode & 0o777).toBe(0o600);
  });

  it('replaces one record larger than the cap with a short note', () => {
    const file = path.join(tempWorkspace(), 'lookout.log');
    const notices: string[] = [];
    const log = new LogFile(file, { maxBytes: 1024 * 1024, maxLineBytes: 1024, onNotice: (m) => notices.push(m) });
    log.write(`${JSON.stringify({ level: 30, msg: 'small' })}\n`);
    log.write(`${JSON.stringify({ level: 30, msg: 'huge', blob: 'z'.repeat(100_000) })}\n`);
    log.close();
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const note = JSON.parse(lines[1]!) as { msg: string; original_msg: string; original_bytes: number };
    expect(note.msg).toBe('log record too large; replaced');
    expect(note.original_msg).toBe('huge');
    expect(note.original_bytes).toBeGreaterThan(100_000);
    expect(fs.statSync(file).size).toBeLessThan(1024);
  });

  it('never opens through a symlink (O_NOFOLLOW), even one planted after start-up', () => {
    const dir = tempWorkspace();
    const file = path.join(dir, 'lookout.log');
    const target = path.join(dir, 'target');
    fs.writeFileSync(target, 'mine\n');
    fs.symlinkSync(target, file);
    expect(() => new LogFile(file, { maxBytes: 1024, maxLineBytes: 1024, onNotice: () => undefined })).toThrow(/ELOOP/);
    expect(fs.readFileSync(target, 'utf8')).toBe('mine\n');
  });

  it('pauses on a write error without throwing, says so once, and resumes', () => {
    const dir = tempWorkspace();
    const file = path.join(dir, 'lookout.log');
    const notices: string[] = [];
    const log = new LogFile(file, { maxBytes: 200, maxLineBytes: 1024, onNotice: (m) => notices.push(m) });
    log.write('{"msg":"one"}\n'.repeat(20));
    log.flush();
    // The next flush must rotate, and rotation fails while a directory sits at .1.
    fs.mkdirSync(`${file}.1`);
    fs.writeFileSync(path.join(`${file}.1`, 'keep'), '');
    for (let i = 0; i < 5; i++) {
      log.write('{"msg":"two"}\n');
      expect(() => log.flush()).not.toThrow();
    }
    expect(log.status().status).toBe('degraded');
    expect(notices).toHaveLength(1);
    fs.rmSync(`${file}.1`, { recursive: true });
    const deadline = Date.now() + 3000;
    while (log.status().status !== 'ok' && Date.now() < deadline) {
      log.write('{"msg":"three"}\n');
      log.flush();
    }
    expect(log.status().status).toBe('ok');
    expect(notices).toHaveLength(2);
    expect(notices[1]).toMatch(/again/);
    log.close();
  });
});
