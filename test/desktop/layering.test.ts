import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The desktop layer's own rule: decisions live in plain modules that never reach
 * `electron`, not even through another module, so they run (and are tested) under
 * Node; only the thin adapters import it.
 */
const desktop = path.resolve(import.meta.dirname, '../../src-main/desktop');

const ADAPTERS = ['main.ts', 'desktop-app.ts', 'window.ts', 'tray.ts', 'menu-template.ts', 'notifier.ts', 'preload.ts'];

function importsOf(file: string): { specifier: string; typeOnly: boolean }[] {
  const source = fs.readFileSync(file, 'utf8');
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const match of source.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    found.push({ specifier: match[3]!, typeOnly: Boolean(match[2]) });
  }
  return found;
}

/**
 * Every module reachable from `file` through relative imports, and every package named
 * on the way. `runtimeOnly` skips `import type` (erased before anything runs).
 */
function closure(
  file: string,
  runtimeOnly = false,
  seen = new Set<string>(),
  packages = new Set<string>(),
): { files: Set<string>; packages: Set<string> } {
  if (seen.has(file)) return { files: seen, packages };
  seen.add(file);
  for (const { specifier, typeOnly } of importsOf(file)) {
    if (runtimeOnly && typeOnly) continue;
    if (specifier.startsWith('.')) closure(path.resolve(path.dirname(file), specifier), runtimeOnly, seen, packages);
    else packages.add(specifier);
  }
  return { files: seen, packages };
}

const modules = fs.readdirSync(desktop).filter((name) => name.endsWith('.ts'));
const plain = modules.filter((name) => !ADAPTERS.includes(name));

describe('the desktop layer', () => {
  it('has the plain modules the adapters build on', () => {
    expect(plain.sort()).toEqual(
      [
        'app-menu-model.ts',
        'assets.ts',
        'cli-env.ts',
        'desktop-settings.ts',
        'ipc-api.ts',
        'ipc-router.ts',
        'launch-args.ts',
        'menu-model.ts',
        'notification-policy.ts',
        'server-toggle.ts',
        'status-page.ts',
        'tray-menu-model.ts',
        'window-policy.ts',
        'workspaces.ts',
      ].sort(),
    );
  });

  it.each(plain)('%s never reaches electron, directly or through another module', (name) => {
    const { files, packages } = closure(path.join(desktop, name));
    expect([...packages]).not.toContain('electron');
    expect([...files].map((f) => path.basename(f)).filter((f) => ADAPTERS.includes(f))).toEqual([]);
  });

  it('the preload bundle pulls in nothing but zod, src-shared and the IPC schema', () => {
    const { files, packages } = closure(path.join(desktop, 'preload.ts'), true);
    expect([...packages].sort()).toEqual(['electron', 'zod']);
    expect([...files].map((f) => path.relative(path.resolve(desktop, '../..'), f)).sort()).toEqual([
      'src-main/desktop/ipc-api.ts',
      'src-main/desktop/preload.ts',
      'src-shared/session.ts',
    ]);
  });
});
