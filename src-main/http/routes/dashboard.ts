import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from 'koa';
import { defineRoute } from '../route.ts';

/**
 * The dashboard, served by the server itself so the app window and any browser run the
 * same page: the built renderer (dist/renderer). The page holds no data of its own: it
 * signs in through the access routes, and no cookie or URL here grants anything.
 *
 * Nothing from the request path ever reaches the file system: assets are served from an
 * index of the build directory, by exact name.
 */

export interface DashboardOptions {
  /** The built renderer; defaults to dist/renderer in the package root. */
  rendererDir?: string;
}

/** The package root: the nearest folder above this file with a package.json (works from src-main/ and dist/src-main/). */
function packageRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return import.meta.dirname;
    dir = parent;
  }
}

export const defaultRendererDir = (): string => path.join(packageRoot(), 'dist', 'renderer');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** Vite names built files `name-<hash>.ext`: those never change, so they are cached for a year. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Asset {
  file: string;
  type: string;
  size: number;
}

interface Build {
  /** index.html's mtime: a rebuild while the server runs is picked up. */
  stamp: number;
  index: string;
  assets: Map<string, Asset>;
}

function scan(dir: string, previous: Build | undefined): Build | undefined {
  const indexFile = path.join(dir, 'index.html');
  let stamp: number;
  try {
    stamp = fs.statSync(indexFile).mtimeMs;
  } catch {
    return undefined;
  }
  if (previous && previous.stamp === stamp) return previous;
  const assets = new Map<string, Asset>();
  const add = (urlPath: string, file: string) => {
    const type = CONTENT_TYPES[path.extname(file)];
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (type && stat?.isFile()) assets.set(urlPath, { file, type, size: stat.size });
  };
  const assetDir = path.join(dir, 'assets');
  for (const name of fs.existsSync(assetDir) ? fs.readdirSync(assetDir) : [])
    add(`/assets/${name}`, path.join(assetDir, name));
  add('/favicon.svg', path.join(dir, 'favicon.svg'));
  return { stamp, index: fs.readFileSync(indexFile, 'utf8'), assets };
}

/**
 * The page's policy: scripts, styles and images from this origin only, and the
 * WebSocket back to this same host. The Host header was checked against our own names
 * before any route ran, so echoing it cannot widen the policy.
 */
export function dashboardCsp(host: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ws://${host}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

// -----------------------------------------------------------------------------------
// Pages the server writes itself (sign-in, not built). One inline stylesheet, allowed
// by its hash; no script at all.

const PAGE_STYLE = `
:root { color-scheme: light dark; --bg: #f4f6f8; --panel: #fff; --text: #1b2230; --muted: #5f6b7a; --border: #dfe3e8; --accent: #1f6feb; --danger: #c62828; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --panel: #151b23; --text: #e6edf3; --muted: #9aa5b1; --border: #2a323d; --accent: #4c8dff; --danger: #ff7b72; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--text); font: 14px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { width: min(520px, calc(100vw - 32px)); background: var(--panel); border: 1px solid var(--border); border-radius: 12px; padding: 28px 32px; }
h1 { margin: 0 0 4px; font-size: 20px; }
p { margin: 10px 0; color: var(--muted); }
code { font: 13px ui-monospace, Menlo, Consolas, monospace; background: var(--bg); border: 1px solid var(--border); border-radius: 4px; padding: 1px 5px; color: var(--text); }
form { display: flex; gap: 8px; margin-top: 14px; }
label { position: absolute; left: -9999px; }
input { flex: 1; min-width: 0; height: 34px; padding: 0 10px; border: 1px solid var(--border); border-radius: 7px; background: var(--bg); color: var(--text); font: 13px ui-monospace, Menlo, Consolas, monospace; }
input:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
button { height: 34px; padding: 0 16px; border: 0; border-radius: 7px; background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
.error { color: var(--danger); font-weight: 600; }
.or { margin-top: 18px; }
`;

const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function notBuiltPage(dir: string): string {
  return page(
    'Lookout — dashboard not built',
    `<h1>The dashboard is not built</h1>
<p>The server is running, but it found no dashboard in <code>${escapeHtml(dir)}</code>.</p>
<p>Run <code>npm run build</code> in the Lookout checkout (it builds the server and the dashboard), then reload this page.</p>
<p class="or">The API works meanwhile: <a href="/docs">/docs</a>.</p>`,
  );
}

function sendPage(ctx: Context, status: number, html: string): void {
  ctx.status = status;
  ctx.set('Content-Security-Policy', PAGE_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

export const dashboardRoutes = (options: DashboardOptions) => {
  const dir = options.rendererDir ?? defaultRendererDir();
  let build: Build | undefined;
  const current = (): Build | undefined => (build = scan(dir, build));
  return [
    defineRoute({
      method: 'get',
      path: '/',
      summary:
        "The dashboard (it signs in by itself: a `?code=` from `lookout open`, a pasted token, or a user's password)",
      description:
        'The page holds no data until it signs in through POST /api/v1/auth/sign-in. A `?code=` is exchanged by POST and removed from the address bar; no reusable credential is ever accepted in a URL.',
      tags: ['dashboard'],
      policy: { role: 'public', readOnly: 'allowed' },
      responses: {
        200: { description: 'The dashboard', contentType: 'text/html' },
        503: { description: 'The dashboard has not been built (`npm run build`)', contentType: 'text/html' },
      },
      handler: ({ ctx }) => {
        const built = current();
        if (!built) {
          sendPage(ctx, 503, notBuiltPage(dir));
          return undefined;
        }
        ctx.set('Content-Security-Policy', dashboardCsp(ctx.get('host')));
        ctx.set('Cache-Control', 'no-store');
        // The page may hold a one-time code in its URL: never send it on as a Referer.
        ctx.set('Referrer-Policy', 'no-referrer');
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = built.index;
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/assets/:file',
      summary: 'Dashboard scripts and styles (content-hashed, cached for a year)',
      tags: ['dashboard'],
      policy: { role: 'public', readOnly: 'allowed' },
      responses: {
        200: { description: 'A built file', contentType: [...new Set(Object.values(CONTENT_TYPES))] },
        404: { description: 'No such file in the build' },
      },
      handler: ({ ctx }) => serveAsset(ctx, current()),
    }),
    defineRoute({
      method: 'get',
      path: '/favicon.svg',
      summary: 'The dashboard icon',
      tags: ['dashboard'],
      policy: { role: 'public', readOnly: 'allowed' },
      responses: {
        200: { description: 'An SVG image', contentType: 'image/svg+xml' },
        404: { description: 'The dashboard is not built' },
      },
      handler: ({ ctx }) => serveAsset(ctx, current()),
    }),
  ];
};

function serveAsset(ctx: Context, build: Build | undefined): undefined {
  const asset = build?.assets.get(ctx.path);
  if (!asset) return undefined; // the JSON 404
  ctx.type = asset.type;
  ctx.length = asset.size;
  ctx.set('Cache-Control', HASHED.test(asset.file) ? IMMUTABLE : 'no-cache');
  ctx.body = fs.createReadStream(asset.file);
  return undefined;
}
