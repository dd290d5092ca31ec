import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function importErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

/** What the src-main layer rule says about `file` importing `specifier` (planted, never written to disk). */
async function layerErrors(
  file: string,
  specifier: string,
  kind: 'import' | 'import type' = 'import',
): Promise<string[]> {
  const source = `${kind} { a } from '${specifier}';\nexport const b = a;\n`;
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'lookout/layering').map((m) => m.message);
}

describe('the layering rule', () => {
  it('lets src-shared import only zod and itself', async () => {
    expect(
      await importErrors('src-shared/x.ts', "import { z } from 'zod';\nimport './errors.ts';\nexport const a = z;\n"),
    ).toEqual([]);
    expect(await importErrors('src-shared/x.ts', "import fs from 'node:fs';\nexport const a = fs;\n")).toHaveLength(1);
    expect(
      await importErrors(
        'src-shared/x.ts',
        "import { VERSION } from '../src-main/version.ts';\nexport const a = VERSION;\n",
      ),
    ).not.toEqual([]);
  });

  it('keeps src-renderer away from src-main and Node built-ins', async () => {
    expect(
      await importErrors(
        'src-renderer/x.ts',
        "import { VERSION } from '../src-main/version.ts';\nexport const a = VERSION;\n",
      ),
    ).toHaveLength(1);
    expect(await importErrors('src-renderer/x.ts', "import fs from 'node:fs';\nexport const a = fs;\n")).toHaveLength(
      1,
    );
    expect(await importErrors('src-renderer/x.ts', "import { z } from 'zod';\nexport const a = z;\n")).toEqual([]);
  });

  it('allows electron only in the Electron adapters of the desktop (src-main/desktop/electron-main/)', async () => {
    const source = "import { app } from 'electron';\nexport const a = app;\n";
    expect(await importErrors('src-main/desktop/electron-main/x.ts', source)).toEqual([]);
    expect(await importErrors('src-main/desktop/electron-main/nested/x.ts', source)).toEqual([]);
    const [message, ...more] = await importErrors('src-main/desktop/x.ts', source);
    expect(more).toEqual([]);
    expect(message).toContain('Only the Electron adapters in src-main/desktop/electron-main/ may import electron');
    expect(
      await importErrors('src-main/desktop/x.ts', "import type { App } from 'electron';\nexport type A = App;\n"),
    ).toHaveLength(1);
    expect(await importErrors('src-main/desktop/nested/x.ts', source)).toHaveLength(1);
    expect(await importErrors('src-main/runtime-x.ts', source)).toHaveLength(1);
    expect(await importErrors('src-main/cli/x.ts', source)).toHaveLength(1);
    expect(await importErrors('src-main/events/x.ts', source)).toHaveLength(1);
  });

  it('keeps the plain desktop modules off the adapters, so nothing outside electron-main/ reaches electron', async () => {
    const adapter =
      "import { createMainWindow } from './electron-main/window.ts';\nexport const a = createMainWindow;\n";
    const [message] = await importErrors('src-main/desktop/x.ts', adapter);
    expect(message).toContain('never import its Electron adapters');
    expect(
      await importErrors(
        'src-main/desktop/nested/x.ts',
        "import { a } from '../electron-main/tray.ts';\nexport const b = a;\n",
      ),
    ).toHaveLength(1);
    // The adapters build on the plain modules, not the other way round.
    expect(
      await importErrors(
        'src-main/desktop/electron-main/x.ts',
        "import { a } from '../window-policy.ts';\nexport const b = a;\n",
      ),
    ).toEqual([]);
    // And no other part of src-main reaches the desktop at all (the layer rule).
    expect(await layerErrors('src-main/runtime.ts', './desktop/electron-main/window.ts')).toHaveLength(1);
    expect(await layerErrors('src-main/cli/x.ts', '../desktop/electron-main/main.ts')).toHaveLength(1);
  });

  describe('inside src-main (store → events → session/state → domains → gateway/http → runtime → cli/desktop)', () => {
    it('rejects an import of a later layer, naming both places and the order', async () => {
      const [message, ...more] = await layerErrors('src-main/events/x.ts', '../gateway/sse.ts');
      expect(more).toEqual([]);
      expect(message).toContain('events may not import gateway');
      expect(message).toContain('store → events → session, state');
      expect(await layerErrors('src-main/store/x.ts', '../events/bus.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/state/x.ts', '../runtime.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/http/x.ts', '../cli/main.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/errors.ts', './logger.ts')).toHaveLength(1);
    });

    it('rejects type-only imports too: a folder dependency is one whether or not it survives compilation', async () => {
      expect(await layerErrors('src-main/events/x.ts', '../gateway/sse.ts', 'import type')).toHaveLength(1);
    });

    it('rejects imports between neighbours on one layer, so no two folders import each other', async () => {
      const [message] = await layerErrors('src-main/gateway/x.ts', '../http/middleware/require-token.ts');
      expect(message).toContain('gateway may not import http');
      expect(message).toContain('share a layer');
      expect(await layerErrors('src-main/session/x.ts', '../state/state-service.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/cli/x.ts', '../desktop/main.ts')).toHaveLength(1);
    });

    it('lets a layer import those before it and itself', async () => {
      expect(await layerErrors('src-main/gateway/x.ts', '../transport/credentials.ts')).toEqual([]);
      expect(await layerErrors('src-main/gateway/x.ts', '../events/event-stream.ts')).toEqual([]);
      expect(await layerErrors('src-main/session/x.ts', '../events/bus.ts')).toEqual([]);
      expect(await layerErrors('src-main/runtime.ts', './http/app.ts')).toEqual([]);
      expect(await layerErrors('src-main/cli/x.ts', '../runtime.ts')).toEqual([]);
      expect(await layerErrors('src-main/http/x.ts', './middleware/read-only.ts')).toEqual([]);
      // Packages and src-shared are other rules' business.
      expect(await layerErrors('src-main/store/x.ts', '../../src-shared/protocol.ts')).toEqual([]);
      expect(await layerErrors('src-main/store/x.ts', 'koa')).toEqual([]);
    });

    it('lets a domain import the route-declaration helper of http/, and nothing else there', async () => {
      expect(await layerErrors('src-main/session/routes.ts', '../http/route.ts')).toEqual([]);
      expect(await layerErrors('src-main/agents/routes.ts', '../http/route.ts')).toEqual([]);
      expect(await layerErrors('src-main/session/routes.ts', '../http/app.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/session/x.ts', '../http/middleware/read-only.ts')).toHaveLength(1);
      // ...and that helper itself stays below the domains, so the exception closes no cycle.
      expect(await layerErrors('src-main/http/route.ts', '../session/session.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/http/route.ts', '../errors.ts')).toEqual([]);
    });

    it('places the domains still to come in ARCHITECTURE.md order, nested folders included', async () => {
      expect(await layerErrors('src-main/tasks/x.ts', '../agents/registry.ts')).toEqual([]);
      expect(await layerErrors('src-main/agents/x.ts', '../tasks/queue.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/discussions/x.ts', '../knowledge/index.ts')).toEqual([]);
      expect(await layerErrors('src-main/metrics/x.ts', '../ingest/otlp.ts')).toEqual([]);
      expect(await layerErrors('src-main/access/x.ts', '../metrics/registry.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/tasks/sandbox/x.ts', '../../events/bus.ts')).toEqual([]);
      expect(await layerErrors('src-main/tasks/sandbox/x.ts', '../../http/app.ts')).toHaveLength(1);
      expect(await layerErrors('src-main/tasks/sandbox/x.ts', '../git-ops.ts')).toEqual([]);
    });

    it('asks for a new folder to be given its place', async () => {
      const [message] = await layerErrors('src-main/plugins/x.ts', '../events/bus.ts');
      expect(message).toContain('plugins has no layer');
    });

    // Parsing every file is slow on a loaded two-core machine: only the layering rules
    // run here (the full lint is `npm run lint`), with room for the parse.
    it('passes the source tree as it stands', { timeout: 90_000 }, async () => {
      const layersOnly = new ESLint({
        cwd: root,
        ruleFilter: ({ ruleId }) => ruleId === 'lookout/layering' || ruleId === 'no-restricted-imports',
      });
      const results = await layersOnly.lintFiles(['src-main']);
      const found = results.flatMap((r) =>
        r.messages
          .filter((m) => m.ruleId === 'lookout/layering' || m.ruleId === 'no-restricted-imports')
          .map((m) => `${r.filePath}: ${m.message}`),
      );
      expect(results.length).toBeGreaterThan(50);
      expect(found).toEqual([]);
    });
  });
});
