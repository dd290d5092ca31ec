import { z } from 'zod';
import { ErrorBody } from '../../src-shared/errors.ts';
import { HEADERS, SESSION_COOKIE_PATTERN } from '../../src-shared/protocol.ts';
import type { Route } from './route.ts';

const COMMON_ERRORS: Record<number, string> = {
  400: 'Invalid input; `details` names the fields',
  401: 'Missing or wrong session token',
  403: 'Foreign Host header',
  500: 'Internal error (no internals are shown)',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  return rest; // the document declares the dialect once (OpenAPI 3.1 = 2020-12)
}

function queryParameters(schema: z.ZodType | undefined) {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
    ...('description' in property ? { description: (property as { description: string }).description } : {}),
  }));
}

/** OpenAPI 3.1 (whose schemas are JSON Schema 2020-12, which zod emits directly). */
export function buildOpenApi(routes: readonly { prefix: string; route: Route }[], info: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { prefix, route } of routes) {
    const openPath = `${prefix}${route.path}`.replace(/:(\w+)/g, '{$1}') || '/';
    const params = [...openPath.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? {
              content: {
                [response.contentType ?? 'application/json']: { schema: jsonSchema(response.schema, 'output') },
              },
            }
          : {}),
      };
    }
    const errorStatuses = new Set([
      ...(route.auth ? [401] : []),
      403,
      500,
      ...(route.body || route.query ? [400] : []),
      ...(route.errors ?? []),
    ]);
    for (const status of [...errorStatuses].sort()) {
      responses[String(status)] ??= {
        description: COMMON_ERRORS[status] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    (paths[openPath] ??= {})[route.method] = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
      parameters: [...params, ...queryParameters(route.query)],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }
        : {}),
      responses,
      security: route.auth ? [{ token: [] }, { bearer: [] }, { cookie: [] }] : [],
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lookout API',
      version: info.version,
      description: 'Local control room for AI agents. See the protocol page (docs/protocol.md) for WebSocket and SSE.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorBody, 'output') },
      securitySchemes: {
        token: { type: 'apiKey', in: 'header', name: HEADERS.sessionToken },
        bearer: { type: 'http', scheme: 'bearer' },
        cookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE_PATTERN },
      },
    },
  };
}
