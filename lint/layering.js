import path from 'node:path';

/**
 * The layers inside src-main/ (ARCHITECTURE.md), lowest first. A place (a folder, or a
 * file at the root of src-main/) may import its own files and those of the layers before
 * it, never those after it nor its neighbours on the same layer: so no two folders can
 * ever import each other. The domains not built yet are listed so that they land in
 * their place from their first line.
 */
export const LAYERS = [
  // Foundations: anything may use them.
  ['errors.ts'],
  ['version.ts', 'logger.ts'],
  ['config.ts', 'workspace.ts'],
  // What a request presents (credentials, request id), read off Node's IncomingMessage.
  ['transport'],
  // The store, then the domains in ARCHITECTURE.md's order ("Domains"); discussions
  // use knowledge, so knowledge comes first.
  ['store'],
  ['events'],
  ['session', 'state'],
  ['access'],
  ['agents'],
  ['tasks'],
  ['knowledge'],
  ['discussions'],
  ['ingest'],
  ['metrics'],
  // Transport: the WebSocket/SSE gateway and the Koa app.
  ['gateway', 'http'],
  // The composition root, the quit path it shares with its two hosts, and the serve
  // process's idle memory trim.
  ['runtime.ts', 'quit-sequence.ts', 'idle-memory-trim.ts'],
  ['cli', 'desktop'],
];

/** Domains may use the one route-declaration helper of http/ their routes.ts needs. */
const ROUTE_HELPER = 'http/route.ts';
const DOMAINS = new Set([
  'events',
  'session',
  'state',
  'access',
  'agents',
  'tasks',
  'knowledge',
  'discussions',
  'ingest',
  'metrics',
]);

/** This checkout's src-main/, wherever ESLint is started from (an editor, a subfolder). */
const SRC_MAIN = path.resolve(import.meta.dirname, '../src-main');

const LEVEL = new Map(LAYERS.flatMap((places, level) => places.map((place) => [place, level])));
const ORDER = LAYERS.map((places) => places.join(', ')).join(' → ');

/** The place of a path inside src-main/ (`events`, `runtime.ts`), or undefined outside it. */
function placeOf(relative) {
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  return relative.split(path.sep)[0];
}

/** @type {import('eslint').Rule.RuleModule} */
export const layeringRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Keep the layers of src-main/ one-way (ARCHITECTURE.md).' },
    schema: [],
    messages: {
      upward:
        '{{from}} may not import {{to}}: src-main layers run {{order}}, and a layer imports only those before it.',
      sideways:
        '{{from}} may not import {{to}}: they share a layer ({{layer}}), so neither imports the other; move what both need to a lower layer.',
      unplaced:
        '{{place}} has no layer: add it to LAYERS in lint/layering.js (and to ARCHITECTURE.md) where it belongs.',
    },
  },
  create(context) {
    const fromRelative = path.relative(SRC_MAIN, context.filename);
    const from = placeOf(fromRelative);
    if (from === undefined) return {};

    const check = (node, specifier) => {
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const targetRelative = path.relative(SRC_MAIN, path.resolve(path.dirname(context.filename), specifier));
      const to = placeOf(targetRelative);
      if (to === undefined || to === from) return;
      if (DOMAINS.has(from) && targetRelative.split(path.sep).join('/') === ROUTE_HELPER) return;
      for (const place of [from, to]) {
        if (!LEVEL.has(place)) return context.report({ node, messageId: 'unplaced', data: { place } });
      }
      // The route helper is the one file of http/ the domains import: for its own imports
      // it stands below them, so that exception can never close a cycle.
      const a =
        fromRelative.split(path.sep).join('/') === ROUTE_HELPER ? LEVEL.get('transport') + 0.5 : LEVEL.get(from);
      const b = LEVEL.get(to);
      if (b > a) context.report({ node, messageId: 'upward', data: { from, to, order: ORDER } });
      else if (a === b)
        context.report({ node, messageId: 'sideways', data: { from, to, layer: LAYERS[a].join(', ') } });
    };

    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};
