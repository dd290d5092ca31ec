import { createRequire } from 'node:module';

/**
 * `node:http`, loaded with `require`. An ESM `import` of a built-in module evaluates every
 * getter on its exports to build the namespace, and node:http's include `WebSocket`,
 * `CloseEvent` and `MessageEvent`: importing it loads undici (Node's fetch, ~750 KB of
 * source) and http2, about 2.5 MB of an idle server's memory that Lookout never uses
 * (docs/idle-memory.md). `require` leaves the getters alone. Import `http` from here, not
 * from `node:http` (types may still come from `node:http` with `import type`).
 */
export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
