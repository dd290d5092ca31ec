import { createRequire } from 'node:module';
import type KoaRouter from '@koa/router';

/**
 * @koa/router, loaded through its CommonJS build. Its ES module build does
 * `import http from "http"`, and an ESM import of node:http evaluates the module's
 * `WebSocket` getter, which loads undici and http2 into every server (see
 * ../transport/node-http.ts); its CommonJS build only reads `http.METHODS`.
 */
export const Router = createRequire(import.meta.url)('@koa/router') as typeof KoaRouter;
