import { describe, expect, it } from 'vitest';
import { titleOf } from '../../../src-main/cli/knowledge.ts';

describe('the title `lookout knowledge add` gives a file', () => {
  it("is the front matter's title, else the first level-1 heading, else the file name", () => {
    expect(titleOf('/d/a.md', '---\ntitle: "From front matter"\ntags: [x]\n---\n\n# Heading\n')).toBe(
      'From front matter',
    );
    expect(titleOf('/d/a.md', '---\ndate: 2026-01-01\n---\n\n## Sub first\n\n# The **Title**\n')).toBe('The Title');
    expect(titleOf('/d/a.md', 'Setext title\r\n============\r\n\r\ntext')).toBe('Setext title');
    expect(titleOf('/d/notes.txt', 'just text\n#hashtag is not a heading')).toBe('notes');
    expect(titleOf('/d/long.md', `# ${'x'.repeat(300)}`)).toHaveLength(200);
  });
});
