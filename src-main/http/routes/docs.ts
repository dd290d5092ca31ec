import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { defineRoute } from '../route.ts';

// Only these files of the viewer package are served: no path from the request ever
// reaches the file system.
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const ASSET_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lookout API</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', deepLinking: true, persistAuthorization: false });\n`;

const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/** /openapi.json and /docs (Swagger UI from the installed package: no CDN, works offline). */
export const docsRoutes = (getDocument: () => unknown) => [
  defineRoute({
    method: 'get',
    path: '/openapi.json',
    summary: 'This API as an OpenAPI 3.1 document',
    tags: ['server'],
    policy: { role: 'public', readOnly: 'allowed' },
    responses: {
      200: {
        description: 'The OpenAPI document',
        schema: z.looseObject({
          openapi: z.string(),
          info: z.looseObject({}),
          paths: z.record(z.string(), z.unknown()),
        }),
      },
    },
    handler: () => ({ body: getDocument() }),
  }),
  defineRoute({
    method: 'get',
    path: '/docs',
    summary: 'Interactive API reference',
    tags: ['server'],
    policy: { role: 'public', readOnly: 'allowed' },
    responses: { 200: { description: 'An HTML page', contentType: 'text/html' } },
    handler: ({ ctx }) => {
      ctx.set('Content-Security-Policy', DOCS_CSP);
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = PAGE;
      return undefined;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/docs/init.js',
    summary: 'Docs page bootstrap script',
    tags: ['server'],
    policy: { role: 'public', readOnly: 'allowed' },
    responses: { 200: { description: 'JavaScript', contentType: 'text/javascript' } },
    handler: ({ ctx }) => {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = INIT;
      return undefined;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/docs/assets/:file',
    summary: 'Docs page assets',
    tags: ['server'],
    policy: { role: 'public', readOnly: 'allowed' },
    params: { file: z.enum(Object.keys(ASSETS)) },
    responses: {
      200: { description: 'A static file', contentType: [...new Set(Object.values(ASSETS))] },
      404: { description: 'Unknown file' },
    },
    handler: ({ ctx, params }) => {
      const file = params.file ?? '';
      if (!Object.hasOwn(ASSETS, file)) return undefined; // falls through to the JSON 404
      const type = ASSETS[file]!;
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = createReadStream(path.join(ASSET_DIR, params.file as string));
      return undefined;
    },
  }),
];
