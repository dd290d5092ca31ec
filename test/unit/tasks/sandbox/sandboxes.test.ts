import { describe, expect, it } from 'vitest';
import { parseNumstat } from '../../../../src-main/tasks/sandbox/sandboxes.ts';

describe('sandbox diff stat', () => {
  it('parses git diff --numstat -z, binary files counting 0', () => {
    const out = '3\t1\tsrc/a.ts\0-\t-\timg.png\0' + '2\t0\tnew\nline.txt\0';
    expect(parseNumstat(out)).toEqual({
      files_changed: 3,
      insertions: 5,
      deletions: 1,
      files: [
        { path: 'src/a.ts', insertions: 3, deletions: 1 },
        { path: 'img.png', insertions: 0, deletions: 0 },
        { path: 'new\nline.txt', insertions: 2, deletions: 0 },
      ],
      files_truncated: false,
    });
    const many = Array.from({ length: 250 }, (_, i) => `1\t0\tf${i}\0`).join('');
    expect(parseNumstat(many)).toMatchObject({ files_changed: 250, insertions: 250, files_truncated: true });
    expect(parseNumstat(many).files).toHaveLength(200);
  });
});
