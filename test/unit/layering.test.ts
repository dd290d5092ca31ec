import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function importErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
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

  it('allows electron only under src-main/desktop/', async () => {
    const source = "import { app } from 'electron';\nexport const a = app;\n";
    expect(await importErrors('src-main/runtime-x.ts', source)).toHaveLength(1);
    expect(await importErrors('src-main/cli/x.ts', source)).toHaveLength(1);
    expect(await importErrors('src-main/desktop/x.ts', source)).toEqual([]);
  });
});
