/**
 * Splits a document into the chunks the index ranks and discussions quote. A chunk is
 * what a reader would cite: a stretch of one section (never two sections' text), cut
 * between paragraphs where it can, ~1–2 KB, remembering the heading path above it.
 *
 * Markdown-aware without a Markdown parser: ATX headings (`## Title`) and setext ones
 * (`Title` over `=====` or `-----`) open sections, fenced code blocks (``` or ~~~) and a
 * leading YAML front matter (`---` … `---`) are opaque (a `#` inside is not a heading, and
 * a fence is never cut while it fits in a chunk). Plain text is Markdown without
 * headings, so the same rules serve `.txt` files.
 */

export interface Chunk {
  /** From 0, in document order. */
  index: number;
  /** Heading path, outermost first, joined with ` › ` (`''` before the first heading). */
  heading: string;
  text: string;
}

export interface ChunkerOptions {
  /** A chunk is closed once it reaches this many characters (at the next block boundary). */
  targetChars: number;
  /** No chunk is longer than this (long blocks are cut at lines, then sentences, then words). */
  maxChars: number;
  /** When a section spans several chunks, each repeats up to this much of the previous one's end. */
  overlapChars: number;
}

export const DEFAULT_CHUNKER: ChunkerOptions = { targetChars: 1200, maxChars: 2000, overlapChars: 150 };

export const HEADING_SEPARATOR = ' › ';

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
/** `Title` then a line of `=` (level 1) or `-` (level 2). */
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
/** A line that cannot be a setext heading's text: list items, quotes, table rows. */
const NOT_SETEXT_TEXT = /^\s*(?:[-*+>|]|\d+[.)])(?:\s|$)/;

interface Section {
  heading: string;
  /** Blank-line separated blocks; a fenced code block is one block. */
  blocks: string[];
}

/** The heading text as a reader sees it: inline emphasis and code marks dropped. */
function headingText(raw: string): string {
  return raw.replace(/[*_`]+/g, '').trim();
}

function sections(text: string): Section[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const result: Section[] = [];
  const path: { level: number; title: string }[] = [];
  let current: Section = { heading: '', blocks: [] };
  let block: string[] = [];
  let fence: string | undefined;

  const endBlock = () => {
    if (block.some((line) => line.trim() !== '')) current.blocks.push(block.join('\n').replace(/^\n+|\s+$/g, ''));
    block = [];
  };

  const pushHeading = (level: number, raw: string, lineText: string) => {
    if (current.blocks.length > 0) result.push(current);
    while (path.length > 0 && path.at(-1)!.level >= level) path.pop();
    const title = headingText(raw);
    if (title !== '') path.push({ level, title });
    current = { heading: path.map((p) => p.title).join(HEADING_SEPARATOR), blocks: [] };
    // The heading line stays in the text: a quoted chunk then reads like the document.
    current.blocks.push(lineText);
  };

  // Front matter: metadata before the first line of the document, read as one opaque block.
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((line, i) => i > 0 && (line.trim() === '---' || line.trim() === '...'));
    if (end > 0) {
      block = lines.splice(0, end + 1);
      endBlock();
    }
  }

  for (const line of lines) {
    if (fence !== undefined) {
      block.push(line);
      if (line.trimStart().startsWith(fence)) {
        fence = undefined;
        endBlock();
      }
      continue;
    }
    const opening = FENCE.exec(line);
    if (opening) {
      endBlock();
      fence = opening[1]!.slice(0, 3);
      block.push(line);
      continue;
    }
    const heading = ATX_HEADING.exec(line);
    if (heading) {
      endBlock();
      pushHeading(heading[1]!.length, heading[2] ?? '', line.trim());
      continue;
    }
    const underline = SETEXT_UNDERLINE.exec(line);
    if (underline && block.length === 1 && !NOT_SETEXT_TEXT.test(block[0]!)) {
      const text = block[0]!;
      block = [];
      pushHeading(underline[1]!.startsWith('=') ? 1 : 2, text, `${text.trim()}\n${line.trim()}`);
      continue;
    }
    if (line.trim() === '') endBlock();
    else block.push(line);
  }
  endBlock();
  if (current.blocks.length > 0) result.push(current);
  // A section holding only its heading line still counts: the heading is searchable text.
  return result;
}

const CUT_AT = [/(?<=\n)/, /(?<=[.!?。！？]\s)/, /(?<=\s)/];

/** Cuts one over-long block into pieces of at most max characters: at lines, then sentences, then words. */
function cutBlock(block: string, max: number, level = 0): string[] {
  if (block.length <= max) return [block];
  const separator = CUT_AT[level];
  if (separator !== undefined) {
    const parts = block.split(separator).filter((part) => part !== '');
    const fine = parts.length > 1 ? parts.flatMap((part) => cutBlock(part, max, level + 1)) : [];
    return fine.length > 0 ? pack(fine, max, '') : cutBlock(block, max, level + 1);
  }
  // One unbroken run longer than max (a minified line, a base64 blob): cut by length,
  // never inside a surrogate pair.
  const pieces: string[] = [];
  let at = 0;
  while (at < block.length) {
    let end = Math.min(at + max, block.length);
    const code = block.charCodeAt(end - 1);
    if (end < block.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    pieces.push(block.slice(at, end));
    at = end;
  }
  return pieces;
}

/** Joins consecutive parts while they fit in max. */
function pack(parts: readonly string[], max: number, joiner: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const part of parts) {
    const candidate = current === '' ? part : current + joiner + part;
    if (candidate.length <= max) current = candidate;
    else {
      if (current !== '') out.push(current);
      current = part;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

/** The end of a chunk to repeat at the start of the next: whole words, at most max characters. */
function tail(text: string, max: number): string {
  // A chunk no longer than the overlap would be repeated whole: nothing to gain.
  if (max <= 0 || text.length <= max) return '';
  const slice = text.slice(text.length - max);
  const space = slice.search(/\s/);
  return space === -1 ? '' : slice.slice(space).trim();
}

export function chunkDocument(text: string, options: ChunkerOptions = DEFAULT_CHUNKER): Chunk[] {
  const { targetChars, maxChars, overlapChars } = options;
  const chunks: Chunk[] = [];
  for (const section of sections(text)) {
    const blocks = section.blocks
      .flatMap((block) => cutBlock(block, maxChars - overlapChars - 2))
      .map((piece) => piece.trim())
      .filter((piece) => piece !== '');
    let current = '';
    for (const block of blocks) {
      const candidate = current === '' ? block : `${current}\n\n${block}`;
      if (current !== '' && (candidate.length > maxChars || current.length >= targetChars)) {
        chunks.push({ index: chunks.length, heading: section.heading, text: current });
        // Cutting blocks to maxChars - overlapChars - 2 above keeps overlap + block within maxChars.
        const overlap = tail(current, overlapChars);
        current = overlap === '' ? block : `${overlap}\n\n${block}`;
      } else {
        current = candidate;
      }
    }
    if (current.trim() !== '') chunks.push({ index: chunks.length, heading: section.heading, text: current });
  }
  return chunks;
}
