import { describe, expect, it } from 'vitest';
import { chunkDocument, DEFAULT_CHUNKER, HEADING_SEPARATOR } from '../../../src-main/knowledge/chunker.ts';

const paragraph = (word: string, words: number) =>
  Array.from({ length: words }, (_, i) => `${word}${i}`).join(' ') + '.';

describe('chunkDocument', () => {
  it('opens a chunk at every heading and remembers the heading path', () => {
    const chunks = chunkDocument(
      [
        'Intro before any heading.',
        '# Guide',
        'Welcome.',
        '## Install',
        'Run the installer.',
        '### Linux',
        'Use the AppImage.',
        '## Use',
        'Open it.',
        '# Appendix',
        'More.',
      ].join('\n\n'),
    );
    expect(chunks.map((c) => [c.index, c.heading])).toEqual([
      [0, ''],
      [1, 'Guide'],
      [2, `Guide${HEADING_SEPARATOR}Install`],
      [3, `Guide${HEADING_SEPARATOR}Install${HEADING_SEPARATOR}Linux`],
      [4, `Guide${HEADING_SEPARATOR}Use`],
      [5, 'Appendix'],
    ]);
    // The heading line stays in the chunk: a quoted chunk reads like the document.
    expect(chunks[3]!.text).toBe('### Linux\n\nUse the AppImage.');
    expect(chunks[0]!.text).toBe('Intro before any heading.');
  });

  it('reads setext headings, but not a rule after a list item or a blank line', () => {
    const chunks = chunkDocument(
      'Guide\n=====\n\nWelcome.\n\nInstall\n-------\n\nRun it.\n\n- item\n---\n\ntext\n\n---\n\nend',
    );
    expect(chunks.map((c) => c.heading)).toEqual(['Guide', `Guide${HEADING_SEPARATOR}Install`]);
    expect(chunks[0]!.text).toBe('Guide\n=====\n\nWelcome.');
    expect(chunks[1]!.text).toBe('Install\n-------\n\nRun it.\n\n- item\n---\n\ntext\n\n---\n\nend');
  });

  it('keeps a leading front matter as one block before the first heading', () => {
    const chunks = chunkDocument('---\ntitle: Guide\n# not: a heading\n---\n\n# Guide\n\nBody.');
    expect(chunks.map((c) => [c.heading, c.text])).toEqual([
      ['', '---\ntitle: Guide\n# not: a heading\n---'],
      ['Guide', '# Guide\n\nBody.'],
    ]);
  });

  it('drops emphasis marks and closing hashes from heading paths', () => {
    const [chunk] = chunkDocument('## The `lookout` **CLI** ##\n\ntext');
    expect(chunk!.heading).toBe('The lookout CLI');
  });

  it('treats a # inside a fenced code block as code, and keeps a fence whole', () => {
    const text = '# Real\n\n```sh\n# not a heading\necho hi\n\n# still code\n```\n\nAfter.';
    const chunks = chunkDocument(text);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.heading).toBe('Real');
    expect(chunks[0]!.text).toContain('```sh\n# not a heading\necho hi\n\n# still code\n```');
  });

  it('handles CRLF line endings like LF', () => {
    expect(chunkDocument('# A\r\n\r\none\r\n\r\n# B\r\n\r\ntwo')).toEqual(chunkDocument('# A\n\none\n\n# B\n\ntwo'));
  });

  it('cuts a long section between paragraphs into chunks near the target, none over the maximum, with overlap', () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => paragraph(`p${i}w`, 40));
    const chunks = chunkDocument(`# Long\n\n${paragraphs.join('\n\n')}`);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(chunk.heading).toBe('Long');
      expect(chunk.text.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.maxChars);
    }
    for (const chunk of chunks.slice(0, -1))
      expect(chunk.text.length).toBeGreaterThanOrEqual(DEFAULT_CHUNKER.targetChars);
    // Each later chunk starts with the end of the one before it (whole words).
    for (let i = 1; i < chunks.length; i++) {
      const start = chunks[i]!.text.split('\n\n')[0]!;
      expect(start.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.overlapChars);
      expect(chunks[i - 1]!.text.endsWith(start)).toBe(true);
    }
    // Nothing is lost: every paragraph is in some chunk.
    for (const p of paragraphs) expect(chunks.some((c) => c.text.includes(p))).toBe(true);
  });

  it('never repeats text across sections', () => {
    const chunks = chunkDocument(`# A\n\n${paragraph('a', 300)}\n\n# B\n\nshort b`);
    expect(chunks.at(-1)!.text).toBe('# B\n\nshort b');
  });

  it('cuts one over-long paragraph at sentences, keeping the spaces between them', () => {
    const sentences = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} says something useful.`);
    const chunks = chunkDocument(sentences.join(' '));
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.maxChars);
    for (const s of sentences) expect(chunks.some((c) => c.text.includes(s))).toBe(true);
  });

  it('cuts an unbroken run (a minified line) by length without splitting a surrogate pair', () => {
    const blob = '😀'.repeat(3000); // 6000 UTF-16 units, no space anywhere
    const chunks = chunkDocument(blob);
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.maxChars);
      expect(chunk.text).toMatch(/^(?:😀)+$/u);
    }
    expect(chunks.map((c) => c.text).join('')).toBe(blob);
  });

  it('gives nothing for blank text and numbers chunks in order', () => {
    expect(chunkDocument('  \n\n \t\n')).toEqual([]);
    const chunks = chunkDocument('# a\n\nx\n\n# b\n\ny\n\n# c\n\nz');
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2]);
  });

  it('reads plain text (no headings) as paragraphs', () => {
    const chunks = chunkDocument('first paragraph\nstill first\n\nsecond paragraph');
    expect(chunks).toEqual([{ index: 0, heading: '', text: 'first paragraph\nstill first\n\nsecond paragraph' }]);
  });
});
