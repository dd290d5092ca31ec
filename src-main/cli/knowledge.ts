import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_SEARCH_LIMIT,
  KNOWLEDGE_FILE_EXTENSIONS,
  type KnowledgeDocument,
  type KnowledgeDocumentList,
  type KnowledgeDocumentSummary,
  type KnowledgeSearchResponse,
  MAX_SEARCH_LIMIT,
  MAX_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  snippetParts,
  TAG_PATTERN,
} from '../../src-shared/knowledge.ts';
import { NON_NEGATIVE_INTEGER_HINT, parseNonNegativeInteger } from '../../src-shared/non-negative-integer.ts';
import type { ServerInfo } from '../../src-shared/server-info.ts';
import { connect, table } from './agent.ts';
import { callApi, findWorkspace } from './connection.ts';
import { CliError, reportAndExit } from './output.ts';
import { forTerminal, jsonForTerminal } from './terminal-text.ts';

/** Folders a directory walk never enters: hidden ones (.git, .lookout) and installed packages. */
const SKIPPED_DIRS = new Set(['node_modules']);

interface FileToAdd {
  file: string;
  source: string;
  title: string;
  text: string;
}

const isKnowledgeFile = (file: string): boolean =>
  (KNOWLEDGE_FILE_EXTENSIONS as readonly string[]).includes(path.extname(file).toLowerCase());

/** Every Markdown and text file under dir, in a stable order. */
function walk(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) found.push(...walk(full));
    else if (entry.isFile() && isKnowledgeFile(entry.name)) found.push(full);
  }
  return found;
}

/** The files named, directories expanded; anything that is not Markdown or text is refused. */
function expand(args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(arg);
    } catch (error) {
      throw new CliError(`cannot read ${arg}: ${(error as NodeJS.ErrnoException).code ?? error}`, 2);
    }
    if (stat.isDirectory()) {
      const inside = walk(arg);
      if (inside.length === 0)
        throw new CliError(`${arg} holds no ${KNOWLEDGE_FILE_EXTENSIONS.join(', ')} files; nothing to add`, 2);
      files.push(...inside);
    } else if (!isKnowledgeFile(arg)) {
      throw new CliError(
        `${arg} is not Markdown or plain text (${KNOWLEDGE_FILE_EXTENSIONS.join(', ')}); convert it to one of those first`,
        2,
      );
    } else files.push(arg);
  }
  return [...new Set(files.map((file) => path.resolve(file)))];
}

/**
 * A Markdown file's title: its front matter's `title:`, else its first level-1 heading
 * (`# Title` or `Title` over `===`), else the file name without the extension.
 */
export function titleOf(file: string, text: string): string {
  const normalized = text.replace(/\r\n?/g, '\n');
  const frontMatter = /^---\n([\s\S]*?)\n(?:---|\.\.\.)\n/.exec(normalized)?.[1];
  const fromFrontMatter = frontMatter
    ?.match(/^title:[ \t]*(.+)$/m)?.[1]
    ?.trim()
    .replace(/^(["'])(.*)\1$/, '$2');
  const heading = /^ {0,3}# +(.+?)(?: +#+)? *$/m.exec(normalized)?.[1] ?? /^(\S.*)\n {0,3}=+ *$/m.exec(normalized)?.[1];
  const title = fromFrontMatter || heading?.replace(/[*_`]+/g, '').trim() || path.basename(file, path.extname(file));
  return title.slice(0, MAX_TITLE_LENGTH);
}

/**
 * Read and checked before anything is sent, so a bad file in a list adds nothing. The
 * source is the path relative to the workspace (absolute outside it): adding the same file
 * again replaces its document instead of making a second one.
 */
function readFileToAdd(file: string, workspace: string, title: string | undefined): FileToAdd {
  const bytes = fs.readFileSync(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${file} is not UTF-8 text; convert it (iconv -t UTF-8) first`, 2);
  }
  if (text.includes('\0')) throw new CliError(`${file} holds NUL bytes: it looks binary, not text`, 2);
  if (text.trim() === '') throw new CliError(`${file} is empty; nothing to add`, 2);
  if (text.length > MAX_TEXT_LENGTH)
    throw new CliError(
      `${file} is ${text.length} characters; a document is at most ${MAX_TEXT_LENGTH} (1 MiB): split it into several files`,
      2,
    );
  const relative = path.relative(workspace, file);
  const source = relative.startsWith('..') || path.isAbsolute(relative) ? file : relative.split(path.sep).join('/');
  return { file, source, title: title ?? titleOf(file, text), text };
}

function parseLimit(value: string): number {
  const n = parseNonNegativeInteger(value);
  if (n === undefined || n < 1 || n > MAX_SEARCH_LIMIT)
    throw new CliError(`--limit is 1 to ${MAX_SEARCH_LIMIT} (${NON_NEGATIVE_INTEGER_HINT}), got ${value}`, 2);
  return n;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function kib(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Highlights as bold when a terminal shows them, plain text otherwise (pipes, NO_COLOR). */
function renderSnippet(snippet: string, highlights: readonly (readonly [number, number])[], color: boolean): string {
  return snippetParts(snippet, highlights)
    .map((part) => {
      const text = forTerminal(part.text.replace(/\s+/g, ' '));
      return part.highlighted && color ? `\u001b[1;33m${text}\u001b[0m` : text;
    })
    .join('');
}

/** A document named by its id or an unambiguous prefix of it (at least 4 characters). */
async function resolveDocument(server: ServerInfo, ref: string): Promise<KnowledgeDocumentSummary> {
  const { documents } = await callApi<KnowledgeDocumentList>(server, 'GET', '/knowledge/documents');
  const exact = documents.find((d) => d.id === ref);
  if (exact) return exact;
  const matches = ref.length >= 4 ? documents.filter((d) => d.id.startsWith(ref)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new CliError(`document id ${ref} is ambiguous (${matches.length} documents); give more of it`);
  throw new CliError(`no document ${JSON.stringify(ref)}; \`lookout knowledge list\` shows them`);
}

function action<A extends unknown[]>(fn: (...args: A) => Promise<number>) {
  return async (...args: A): Promise<void> => {
    try {
      process.exit(await fn(...args));
    } catch (error) {
      reportAndExit(error);
    }
  };
}

export function registerKnowledge(program: Command): void {
  const knowledge = program
    .command('knowledge')
    .description('add Markdown and text documents to the knowledge base, search them, list and remove them');

  knowledge
    .command('add')
    .description(
      `add files (${KNOWLEDGE_FILE_EXTENSIONS.join(', ')}) or every such file under a directory; adding a file again replaces it`,
    )
    .argument('<files...>', 'files or directories')
    .option('--title <title>', 'the title (one file only; default: its first "# heading", else its name)')
    .option('--tag <tag>', 'a tag for every document added (repeatable)', collect)
    .option('--json', 'print each document added as a line of JSON')
    .action(
      action(async (args: string[], options: { title?: string; tag?: string[]; json?: boolean }, cmd: Command) => {
        const files = expand(args);
        if (options.title !== undefined && files.length !== 1)
          throw new CliError(`--title names one document; ${files.length} files were given`, 2);
        for (const tag of options.tag ?? [])
          if (!TAG_PATTERN.test(tag))
            throw new CliError(`--tag ${JSON.stringify(tag)}: a tag is 1 to 64 letters, digits or _ . : / -`, 2);
        const server = connect(cmd);
        const workspace = findWorkspace(cmd.optsWithGlobals<{ workspace?: string }>().workspace);
        const toAdd = files.map((file) => readFileToAdd(file, workspace, options.title));
        for (const item of toAdd) {
          const document = await callApi<KnowledgeDocument>(server, 'POST', '/knowledge/documents', {
            title: item.title,
            text: item.text,
            source: item.source,
            ...(options.tag === undefined ? {} : { tags: options.tag }),
          });
          const { text: _text, ...summary } = document;
          const replaced = document.created_at !== document.updated_at;
          if (options.json) process.stdout.write(`${jsonForTerminal({ ...summary, replaced })}\n`);
          else
            process.stdout.write(
              `${replaced ? 'replaced' : 'added'} ${document.id}  ${forTerminal(document.title)}  (${document.chunk_count} chunk${document.chunk_count === 1 ? '' : 's'}, ${kib(document.bytes)})  ${forTerminal(item.source)}\n`,
            );
        }
        return 0;
      }),
    );

  knowledge
    .command('search')
    .description('search the knowledge base, best first (FTS5 syntax works: "a phrase", NEAR(a b), title:x, pre*)')
    .argument('<query...>', 'what to look for (the words are joined with spaces)')
    .option('--limit <n>', `how many results (1 to ${MAX_SEARCH_LIMIT})`, String(DEFAULT_SEARCH_LIMIT))
    .option('--json', 'print {"results": [...], "mode"} as JSON')
    .action(
      action(async (words: string[], options: { limit: string; json?: boolean }, cmd: Command) => {
        const limit = parseLimit(options.limit);
        const q = words.join(' ');
        const params = new URLSearchParams({ q, limit: String(limit) });
        const found = await callApi<KnowledgeSearchResponse>(connect(cmd), 'GET', `/knowledge/search?${params}`);
        if (options.json) {
          process.stdout.write(`${jsonForTerminal(found)}\n`);
          return 0;
        }
        if (found.results.length === 0) {
          process.stderr.write(`nothing found for ${forTerminal(JSON.stringify(q))}\n`);
          return 1;
        }
        const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
        if (found.mode === 'words')
          process.stderr.write('(read as separate words: any of them matches, the best matches first)\n');
        found.results.forEach((r, i) => {
          // A Markdown file's heading path usually starts with its title: say it once.
          const where =
            r.heading === '' || r.heading === r.title
              ? r.title
              : r.heading.startsWith(`${r.title} › `)
                ? r.heading
                : `${r.title} › ${r.heading}`;
          process.stdout.write(
            `${i + 1}. ${forTerminal(where)}  [${r.document_id}#${r.chunk_index}, score ${r.score.toFixed(2)}]\n` +
              `   ${renderSnippet(r.snippet, r.highlights, color)}\n`,
          );
        });
        return 0;
      }),
    );

  knowledge
    .command('list')
    .description('every document, newest first')
    .option('--json', 'print {"documents": [...]} as JSON')
    .action(
      action(async (options: { json?: boolean }, cmd: Command) => {
        const { documents } = await callApi<KnowledgeDocumentList>(connect(cmd), 'GET', '/knowledge/documents');
        if (options.json) process.stdout.write(`${jsonForTerminal({ documents })}\n`);
        else if (documents.length === 0)
          process.stdout.write('no documents; add some: lookout knowledge add FILE.md…\n');
        else
          process.stdout.write(
            table(
              ['ID', 'CHUNKS', 'SIZE', 'UPDATED', 'SOURCE', 'TITLE'],
              documents.map((d) => [
                d.id,
                String(d.chunk_count),
                kib(d.bytes),
                d.updated_at.slice(0, 16).replace('T', ' '),
                forTerminal(d.source ?? '-'),
                forTerminal(d.title),
              ]),
            ),
          );
        return 0;
      }),
    );

  knowledge
    .command('rm')
    .description('remove documents (their chunks leave the index with them)')
    .argument('<ids...>', 'document ids (or unique prefixes of at least 4 characters)')
    .action(
      action(async (refs: string[], _options: unknown, cmd: Command) => {
        const server = connect(cmd);
        // All resolved first: a typo in the third id removes nothing.
        const documents = [];
        for (const ref of refs) documents.push(await resolveDocument(server, ref));
        for (const document of documents) {
          await callApi<undefined>(server, 'DELETE', `/knowledge/documents/${document.id}`);
          process.stdout.write(`removed ${document.id}  ${forTerminal(document.title)}\n`);
        }
        return 0;
      }),
    );
}
