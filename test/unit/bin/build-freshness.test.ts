import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript without types (bin/ runs before anything is compiled)
import { staleSources } from '../../../bin/build-freshness.js';

const stale = staleSources as (root: string) => string[];
const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

/** A checkout: files written with the given modification times (seconds). */
function checkout(files: Record<string, number>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-freshness-'));
  roots.push(root);
  for (const [file, seconds] of Object.entries(files)) {
    const full = path.join(root, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, '');
    fs.utimesSync(full, seconds, seconds);
  }
  return root;
}

describe('staleSources (bin/build-freshness.js)', () => {
  it('finds nothing stale when every source is older than its build and the bundle', () => {
    const root = checkout({
      'src-main/cli/main.ts': 100,
      'src-shared/events.ts': 100,
      'dist/src-main/cli/main.js': 200,
      'dist/src-shared/events.js': 200,
      'dist/server/lookout.js': 200,
    });
    expect(stale(root)).toEqual([]);
  });

  it('names a source newer than its compiled file, or with none', () => {
    const root = checkout({
      'src-main/cli/main.ts': 300,
      'src-main/store/new.ts': 100,
      'src-main/types.d.ts': 300,
      'dist/src-main/cli/main.js': 200,
    });
    expect(stale(root).sort()).toEqual([
      path.join('src-main', 'cli', 'main.ts'),
      path.join('src-main', 'store', 'new.ts'),
    ]);
  });

  it('names a source newer than the server bundle even when its compiled file is newer', () => {
    const root = checkout({
      'src-main/cli/main.ts': 300,
      'dist/src-main/cli/main.js': 400,
      'dist/server/lookout.js': 200,
    });
    expect(stale(root)).toEqual([path.join('src-main', 'cli', 'main.ts')]);
  });

  it('names dashboard sources newer than the built page, and nothing for an installed package', () => {
    const root = checkout({ 'src-renderer/app.tsx': 300, 'dist/renderer/index.html': 200 });
    expect(stale(root)).toEqual([path.join('src-renderer', 'app.tsx')]);
    expect(stale(checkout({ 'dist/server/lookout.js': 100, 'dist/src-main/cli/main.js': 100 }))).toEqual([]);
  });
});
