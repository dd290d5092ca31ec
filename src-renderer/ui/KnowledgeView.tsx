import {
  type ChangeEvent,
  type FormEvent,
  type ReactNode,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import {
  KNOWLEDGE_FILE_EXTENSIONS,
  type KnowledgeChunk,
  type KnowledgeDocument,
  type KnowledgeSearchResponse,
  MAX_TEXT_LENGTH,
  snippetParts,
  TAG_PATTERN,
} from '../../src-shared/knowledge.ts';
import { ApiError } from '../connection/api.ts';
import { formatBytes, formatCount } from '../model/format.ts';
import { termRanges } from '../model/highlight.ts';
import type { KnowledgeLibrary } from '../model/knowledge-library.ts';
import { useController, useLive, useWriteBlocked } from './hooks.ts';

/**
 * The knowledge base: search (snippets with the matched words marked), the documents with
 * add and delete, and a document reader. Server text is only ever rendered as text nodes:
 * highlights are offsets, turned into `<mark>` elements here, never HTML from the server.
 */

const SEARCH_DELAY_MS = 200;
const SEARCH_LIMIT = 20;

export function useLibrary(): KnowledgeLibrary {
  const { knowledge } = useController();
  useSyncExternalStore(knowledge.subscribe, () => knowledge.version);
  return knowledge;
}

/** Text with `[start, end)` ranges marked. */
export function Marked({ text, ranges }: { text: string; ranges: readonly (readonly [number, number])[] }) {
  return (
    <>
      {snippetParts(text, ranges).map((part, i) =>
        part.highlighted ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
      )}
    </>
  );
}

const errorText = (e: unknown): string => (e instanceof ApiError || e instanceof Error ? e.message : String(e));

function Search({ onOpen }: { onOpen: (id: string, query: string, chunkId: string) => void }) {
  const controller = useController();
  const library = useLibrary();
  const [query, setQuery] = useState('');
  const [answer, setAnswer] = useState<{ query: string; response: KnowledgeSearchResponse } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const changes = library.changes;

  // Search as the user types (after a pause), and again when the knowledge base changes;
  // an older answer arriving late is discarded by the abort.
  useEffect(() => {
    const q = query.trim();
    if (q === '') {
      setAnswer(null);
      setError(null);
      return undefined;
    }
    if (!/[\p{L}\p{N}]/u.test(q)) {
      // The server would refuse it (400): say so without asking.
      setAnswer(null);
      setError('Type at least one letter or digit to search for.');
      return undefined;
    }
    const abort = new AbortController();
    const timer = window.setTimeout(() => {
      setBusy(true);
      controller
        .searchKnowledge(q, SEARCH_LIMIT, abort.signal)
        .then((response) => {
          setAnswer({ query: q, response });
          setError(null);
        })
        .catch((e: unknown) => {
          if ((e as Error).name === 'AbortError') return;
          setAnswer(null);
          setError(errorText(e));
        })
        .finally(() => {
          if (!abort.signal.aborted) setBusy(false);
        });
    }, SEARCH_DELAY_MS);
    return () => {
      window.clearTimeout(timer);
      abort.abort();
    };
  }, [controller, query, changes]);

  const results = answer?.response.results ?? [];
  return (
    <section className="panel knowledge-search" aria-label="Search knowledge">
      <h2 className="panel-title">Search</h2>
      <input
        className="knowledge-query"
        type="search"
        aria-label="Search the knowledge base"
        placeholder='Words, "a phrase", prefix*, a NEAR(b c)…'
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        maxLength={4096}
      />
      {error && (
        <p className="item-error" role="alert">
          {error}
        </p>
      )}
      {answer && (
        <p className="muted" aria-live="polite">
          {results.length === 0
            ? `Nothing matches “${answer.query}”.`
            : `${results.length}${results.length === SEARCH_LIMIT ? '+' : ''} passage${results.length === 1 ? '' : 's'}, best first`}
          {answer.response.mode === 'words' && results.length > 0 && ' · searched as plain words'}
          {busy && ' · searching…'}
        </p>
      )}
      <ol className="knowledge-results" aria-label="Search results">
        {results.map((result) => (
          <li key={result.chunk_id} className="knowledge-result">
            <button
              type="button"
              className="link knowledge-result-title"
              onClick={() => onOpen(result.document_id, answer!.query, result.chunk_id)}
              title="Read the document"
            >
              {result.title}
            </button>
            {result.heading && <span className="muted"> › {result.heading}</span>}
            <p className="snippet">
              <Marked text={result.snippet} ranges={result.highlights} />
            </p>
            <span className="muted small" title="BM25 relevance: higher is better, comparable within one search">
              score {Math.abs(result.score) >= 0.01 ? result.score.toFixed(2) : result.score.toPrecision(2)}
              {result.source ? ` · ${result.source}` : ''}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

const ACCEPT = KNOWLEDGE_FILE_EXTENSIONS.join(',');

function AddDocument() {
  const controller = useController();
  const blocked = useWriteBlocked();
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [tags, setTags] = useState('');
  const [source, setSource] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const pick = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setError(null);
    setNotice(null);
    const extension = file.name.slice(file.name.lastIndexOf('.')).toLowerCase();
    if (!(KNOWLEDGE_FILE_EXTENSIONS as readonly string[]).includes(extension)) {
      setError(
        `${file.name}: only ${KNOWLEDGE_FILE_EXTENSIONS.join(', ')} files can be added (Markdown or plain text).`,
      );
      return;
    }
    const content = await file.text();
    if (content.length > MAX_TEXT_LENGTH) {
      setError(`${file.name} is ${formatBytes(file.size)}: at most 1 MiB of text per document; split it into parts.`);
      return;
    }
    setText(content);
    setSource(file.name);
    if (title.trim() === '') setTitle(file.name.slice(0, file.name.length - extension.length));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setNotice(null);
    const tagList = tags.split(/[\s,]+/u).filter((t) => t !== '');
    const badTag = tagList.find((t) => !TAG_PATTERN.test(t));
    if (badTag !== undefined) {
      setError(`Tag “${badTag}”: letters, digits and _ . : / - only, at most 64 characters.`);
      return;
    }
    // The same source replaces that document (the server's rule): a file picked twice is
    // updated, but two different files of one name must not overwrite each other unasked.
    const existing = source ? controller.knowledge.documents.find((d) => d.source === source) : undefined;
    if (existing && !window.confirm(`“${existing.title}” was added from ${source} too. Replace it with this text?`))
      return;
    setBusy(true);
    try {
      const document = await controller.addDocument({
        title: title.trim(),
        text,
        ...(source ? { source } : {}),
        ...(tagList.length > 0 ? { tags: tagList } : {}),
      });
      setNotice(
        `${existing ? 'Replaced' : 'Added'} “${document.title}” (${document.chunk_count} chunk${document.chunk_count === 1 ? '' : 's'}).`,
      );
      setTitle('');
      setText('');
      setTags('');
      setSource(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const disabled = blocked !== null || busy;
  return (
    <form className="knowledge-add" aria-label="Add a document" onSubmit={(e) => void submit(e)}>
      <h3>Add a document</h3>
      {blocked && <p className="muted write-blocked">{blocked}</p>}
      <input
        aria-label="Document title"
        placeholder="Title"
        value={title}
        maxLength={200}
        disabled={disabled}
        onChange={(e) => setTitle(e.target.value)}
        required
      />
      <textarea
        aria-label="Document text"
        placeholder="Markdown or plain text"
        value={text}
        rows={6}
        disabled={disabled}
        onChange={(e) => {
          setText(e.target.value);
          setSource(null);
        }}
        required
      />
      <input
        aria-label="Document tags"
        placeholder="Tags (optional, space-separated)"
        value={tags}
        disabled={disabled}
        onChange={(e) => setTags(e.target.value)}
      />
      <div className="knowledge-add-actions">
        <input
          ref={fileInput}
          type="file"
          accept={ACCEPT}
          aria-label="Document file"
          hidden
          onChange={(e) => void pick(e)}
        />
        <button
          type="button"
          className="button"
          disabled={disabled}
          title={blocked ?? 'Read a .md or .txt file into the form'}
          onClick={() => fileInput.current?.click()}
        >
          Choose a file…
        </button>
        {source && <span className="muted">from {source}</span>}
        <button
          type="submit"
          className="button primary"
          disabled={disabled || title.trim() === '' || text.trim() === ''}
          title={blocked ?? 'Add to the knowledge base'}
        >
          Add
        </button>
      </div>
      {error && (
        <p className="item-error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <p className="muted" role="status">
          {notice}
        </p>
      )}
    </form>
  );
}

function Documents({ onOpen }: { onOpen: (id: string) => void }) {
  const controller = useController();
  const library = useLibrary();
  const blocked = useWriteBlocked();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const live = useLive();
  // Read when the view opens, and again after a sign-in or a reconnect.
  useEffect(() => {
    if (live) void controller.refreshKnowledge();
  }, [controller, live]);
  const remove = async (id: string, title: string, chunks: number) => {
    if (!window.confirm(`Delete “${title}”? Its ${chunks} chunk${chunks === 1 ? '' : 's'} leave the search index.`))
      return;
    setBusy(id);
    setError(null);
    try {
      await controller.deleteDocument(id);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(null);
    }
  };
  const totals = library.totals;
  return (
    <section className="panel knowledge-documents" aria-label="Documents">
      <h2 className="panel-title">
        Documents
        {totals.documents > 0 && <span className="panel-count">{totals.documents}</span>}
      </h2>
      {error && (
        <p className="item-error" role="alert">
          {error}
        </p>
      )}
      {!library.loaded ? (
        <p className="muted">Loading…</p>
      ) : library.documents.length === 0 ? (
        <p className="muted">
          No documents yet. Add one below, or <code>lookout knowledge add FILE…</code> (.md, .txt).
        </p>
      ) : (
        <>
          <p className="muted small">
            {formatCount(totals.chunks)} chunks · {formatBytes(totals.bytes)}
          </p>
          <ul className="items">
            {library.documents.map((doc) => (
              <li key={doc.id} className="item" data-document={doc.id}>
                <span className="item-main">
                  <button type="button" className="link item-title" onClick={() => onOpen(doc.id)}>
                    {doc.title}
                  </button>
                  <span className="item-sub">
                    {doc.chunk_count} chunk{doc.chunk_count === 1 ? '' : 's'} · {formatBytes(doc.bytes)}
                    {doc.source ? ` · ${doc.source}` : ''}
                    {doc.tags.length > 0 ? ` · ${doc.tags.map((t) => `#${t}`).join(' ')}` : ''}
                  </span>
                </span>
                <button
                  type="button"
                  className="button small danger"
                  disabled={blocked !== null || busy === doc.id}
                  title={blocked ?? `Delete ${doc.title}`}
                  onClick={() => void remove(doc.id, doc.title, doc.chunk_count)}
                >
                  Delete
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <AddDocument />
    </section>
  );
}

/** Where a passage sits in a document's text: verbatim, else without the heading line the chunker may have added. */
function locate(text: string, passage: string): { at: number; length: number } | null {
  for (const candidate of [passage, passage.replace(/^#+ [^\n]*\n+/u, '')]) {
    const trimmed = candidate.trim();
    const at = trimmed === '' ? -1 : text.indexOf(trimmed);
    if (at >= 0) return { at, length: trimmed.length };
  }
  return null;
}

/**
 * One document's text with the words of the search (or discussion) that led here marked,
 * and, when opened from a result or a citation, its passage shown first and marked in place.
 */
export function DocumentReader({
  id,
  query,
  chunkId,
  onClose,
}: {
  id: string;
  query: string;
  /** The chunk to show and mark (a search result's or a citation's), when known. */
  chunkId?: string | undefined;
  onClose: () => void;
}) {
  const controller = useController();
  const [document, setDocument] = useState<KnowledgeDocument | null>(null);
  const [chunk, setChunk] = useState<KnowledgeChunk | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [chunkError, setChunkError] = useState<string | null>(null);
  const focusRef = useRef<HTMLElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    const aborted = (e: unknown) => (e as Error).name === 'AbortError';
    setDocument(null);
    setChunk(null);
    setError(null);
    setChunkError(null);
    controller
      .getDocument(id, abort.signal)
      .then(setDocument)
      .catch((e: unknown) => {
        if (!aborted(e))
          setError(e instanceof ApiError && e.status === 404 ? 'This document was deleted.' : errorText(e));
      });
    if (chunkId !== undefined)
      controller
        .getChunk(chunkId, abort.signal)
        .then(setChunk)
        .catch((e: unknown) => {
          if (!aborted(e))
            setChunkError(
              e instanceof ApiError && e.status === 404
                ? 'The cited passage is gone: the document was replaced or deleted since.'
                : errorText(e),
            );
        });
    return () => abort.abort();
  }, [controller, id, chunkId]);
  useEffect(() => {
    focusRef.current?.scrollIntoView({ block: 'center' });
  }, [document, chunk]);

  let body: ReactNode = null;
  if (document) {
    const text = document.text;
    const found = chunk ? locate(text, chunk.text) : null;
    if (found) {
      const before = text.slice(0, found.at);
      const after = text.slice(found.at + found.length);
      body = (
        <>
          <Marked text={before} ranges={termRanges(before, query)} />
          <mark className="passage" ref={focusRef}>
            {text.slice(found.at, found.at + found.length)}
          </mark>
          <Marked text={after} ranges={termRanges(after, query)} />
        </>
      );
    } else {
      body = <Marked text={text} ranges={termRanges(text, query)} />;
    }
  }
  return (
    <section className="panel knowledge-reader" aria-label="Document">
      <h2 className="panel-title">
        {document?.title ?? chunk?.title ?? 'Document'}
        <button type="button" className="button" onClick={onClose}>
          Close
        </button>
      </h2>
      {chunk && (
        <figure className="cited-passage" aria-label="Passage">
          <figcaption className="muted small">
            Passage {chunk.chunk_index + 1}
            {chunk.heading ? ` · ${chunk.heading}` : ''}
          </figcaption>
          <blockquote>
            <Marked text={chunk.text} ranges={termRanges(chunk.text, query)} />
          </blockquote>
        </figure>
      )}
      {chunkError && <p className="muted">{chunkError}</p>}
      {error && <p className="muted">{error}</p>}
      {!document && !error && <p className="muted">Loading…</p>}
      {document && (
        <>
          <p className="muted small">
            {document.chunk_count} chunk{document.chunk_count === 1 ? '' : 's'} · {formatBytes(document.bytes)}
            {document.source ? ` · ${document.source}` : ''}
          </p>
          <pre className="document-text">{body}</pre>
        </>
      )}
    </section>
  );
}

export function KnowledgeView() {
  const [open, setOpen] = useState<{ id: string; query: string; chunkId?: string } | null>(null);
  return (
    <div className="knowledge-view">
      <Search onOpen={(id, query, chunkId) => setOpen({ id, query, chunkId })} />
      <Documents onOpen={(id) => setOpen({ id, query: '' })} />
      {open && <DocumentReader id={open.id} query={open.query} chunkId={open.chunkId} onClose={() => setOpen(null)} />}
    </div>
  );
}
