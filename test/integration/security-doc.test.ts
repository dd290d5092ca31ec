import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyTable } from '../../src-main/access/policy-table.ts';
import { startRuntime } from '../helpers/runtime.ts';

/** Table rows as trimmed cells, so Prettier's column alignment does not matter. */
const rows = (markdown: string) =>
  markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );

describe('docs/security.md', () => {
  it('shows the route policies exactly as the routes declare them', async () => {
    const runtime = await startRuntime();
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/security.md'), 'utf8');
    const section = doc.match(/<!-- policy-table:start -->([\s\S]*?)<!-- policy-table:end -->/)?.[1] ?? '';
    const expected = policyTable(runtime.routes);
    expect(rows(section), `regenerate the table in docs/security.md:\n${expected}`).toEqual(rows(expected));
  });
});
