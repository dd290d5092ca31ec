import { z } from 'zod';
import { ErrorBody } from '../../src-shared/errors.ts';
import { HEADERS, REFRESH_COOKIE_PATTERN } from '../../src-shared/protocol.ts';
import type { Route } from './route.ts';

const COMMON_ERRORS: Record<number, string> = {
  400: 'Invalid input; `details` names the fields',
  401: 'No credential, or a wrong or expired one (`token_expired`: refresh and retry)',
  403: 'Foreign Host or Origin, or (`forbidden`) the role is too low for this operation',
  423: 'Read-only: another process holds the workspace lock (send its X-Lock-Id to write anyway)',
  429: 'Rate limited; wait `Retry-After` seconds',
  500: 'Internal error (no internals are shown)',
};

/** Which credentials an operation accepts, from its declared policy. */
function security(route: Route): Record<string, string[]>[] {
  if (route.policy.role === 'public') return [];
  return [{ ownerToken: [] }, { bearer: [] }, ...(route.policy.ticket ? [{ ticket: [] }] : [])];
}

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
    const guarded = route.policy.role !== 'public';
    const errorStatuses = new Set([
      ...(guarded ? [401, 429] : []),
      403,
      ...(route.policy.readOnly === 'blocked' ? [423] : []),
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
      security: security(route),
      'x-lookout-policy': { role: route.policy.role, read_only: route.policy.readOnly },
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
        ownerToken: {
          type: 'apiKey',
          in: 'header',
          name: HEADERS.sessionToken,
          description:
            'The owner token from .lookout/server.json (admin; accepted from this machine only). Also accepted as a Bearer token.',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An access token from POST /api/v1/auth/sign-in or /auth/refresh; its role decides what it may do.',
        },
        ticket: {
          type: 'apiKey',
          in: 'query',
          name: 'ticket',
          description: 'Streams only: a single-use, 30-second ticket from POST /api/v1/auth/ticket.',
        },
        refreshCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: REFRESH_COOKIE_PATTERN,
          description: 'Only /api/v1/auth/refresh reads it, and only together with the X-Refresh-Binding header.',
        },
      },
    },
  };
}
