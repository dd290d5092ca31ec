import { z } from 'zod';
import { ErrorBody } from '../../src-shared/errors.ts';
import { HEADERS, MAX_JSON_DEPTH, REFRESH_COOKIE_PATTERN, refreshCookieName } from '../../src-shared/protocol.ts';
import { WRITE_METHODS } from './middleware/json-body.ts';
import type { Route } from './route.ts';

/**
 * /openapi.json, generated from the route declarations and nothing else: what a route
 * validates, answers and refuses is what the document says. A property-based fuzzer
 * (test/contract/openapi-fuzz.test.ts) holds the server to it.
 */

const COMMON_ERRORS: Record<number, string> = {
  400: `Invalid input (\`details\` names the fields), JSON that does not parse, or JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
  401: 'No credential, or a wrong or expired one (`token_expired`: refresh and retry)',
  403: 'Foreign Host or Origin, or (`forbidden`) the role is too low for this operation',
  404: 'No such resource',
  409: 'Conflicts with the current state',
  413: 'The body is larger than LOOKOUT_MAX_BODY_BYTES (or an event larger than 64 KiB, or a batch of more than 1000)',
  415: 'The body is not application/json',
  423: 'The workspace is read-only: another process holds its lock (`details.lock` says who)',
  429: 'Rate limited; wait `Retry-After` seconds',
  500: 'Internal error (no internals are shown)',
};

type JsonSchema = Record<string, unknown>;

/** Which credentials an operation accepts, from its declared policy. */
function security(route: Route): Record<string, string[]>[] {
  if (route.policy.refreshCookie) return [{ refreshCookie: [] }];
  if (route.policy.role === 'public') return [];
  return [{ ownerToken: [] }, { bearer: [] }, ...(route.policy.ticket ? [{ ticket: [] }] : [])];
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  });
  // The document declares the dialect once (OpenAPI 3.1 = 2020-12). Named schemas
  // (`.meta({id})`) land in `$defs`; hoistDefs moves them to components, so point there.
  return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
}

/** Moves `$defs` that zod emits for `.meta({id})` schemas into components, keeping the $refs valid. */
function hoistDefs(schema: JsonSchema, components: Record<string, unknown>): JsonSchema {
  const { $defs, ...rest } = schema as JsonSchema & { $defs?: Record<string, unknown> };
  for (const [id, def] of Object.entries($defs ?? {})) components[id] ??= def;
  return rest;
}

function queryParameters(schema: z.ZodType | undefined, components: Record<string, unknown>) {
  if (!schema) return [];
  // Which parameters are required comes from the input side (a default makes one
  // optional); what a value means from the output side: query text read as a number is
  // documented as the integer it stands for.
  const input = jsonSchema(schema, 'input') as { required?: string[] };
  const output = hoistDefs(jsonSchema(schema, 'output'), components) as { properties?: Record<string, JsonSchema> };
  return Object.entries(output.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: input.required?.includes(name) ?? false,
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

/** `get` + `/api/v1/state/{section}` → `getStateSection`. */
function defaultOperationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v\d+/, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return method + (words.length === 0 ? 'Root' : words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(''));
}

function contentTypes(contentType: string | string[] | undefined): string[] {
  if (contentType === undefined) return ['application/json'];
  return Array.isArray(contentType) ? contentType : [contentType];
}

/** The statuses a route can answer besides its own: what every layer in front of it may say. */
function errorStatuses(route: Route, prefix: string, openPath: string): number[] {
  const underApi = prefix !== '';
  const writes = WRITE_METHODS.has(route.method.toUpperCase());
  const hasParams = openPath.includes('{');
  return [
    ...(route.policy.role === 'public' ? [] : [401, 429]),
    403, // the Host check runs for everything (and the role check for guarded routes)
    500,
    // Under the API every write goes through the JSON body reader; elsewhere only routes with a body do.
    ...((underApi && writes) || route.body ? [400, 413, 415] : []),
    ...(route.query || hasParams ? [400] : []),
    ...(hasParams ? [404] : []),
    ...(route.policy.readOnly === 'blocked' ? [423] : []),
    ...(route.errors ?? []),
  ];
}

function operation(route: Route, prefix: string, openPath: string, components: Record<string, unknown>) {
  const params = [...openPath.matchAll(/\{(\w+)\}/g)].map((m) => {
    const declared = route.params?.[m[1]!];
    return {
      name: m[1],
      in: 'path',
      required: true,
      schema: declared ? hoistDefs(jsonSchema(declared, 'input'), components) : { type: 'string' },
    };
  });

  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const error = Number(status) >= 400;
    const schema = response.schema
      ? hoistDefs(jsonSchema(response.schema, 'output'), components)
      : error && response.contentType === undefined
        ? { $ref: '#/components/schemas/Error' }
        : undefined;
    const types = response.schema || error || response.contentType ? contentTypes(response.contentType) : [];
    responses[status] = {
      description: response.description,
      ...(types.length > 0
        ? {
            content: Object.fromEntries(
              types.map((type) => [
                type,
                schema && type.startsWith('application/json')
                  ? { schema }
                  : type.startsWith('text/')
                    ? { schema: { type: 'string' } }
                    : {},
              ]),
            ),
          }
        : {}),
    };
  }
  for (const status of [...new Set(errorStatuses(route, prefix, openPath))].sort()) {
    responses[String(status)] ??= {
      description: COMMON_ERRORS[status] ?? 'Error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }

  const documented = typeof route.documentedBody === 'function' ? route.documentedBody() : route.documentedBody;
  const body = documented ?? route.body;
  return {
    operationId: route.operationId ?? defaultOperationId(route.method, openPath),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.tags ? { tags: route.tags } : {}),
    parameters: [...params, ...queryParameters(route.query, components)],
    ...(body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: hoistDefs(jsonSchema(body, 'input'), components),
                ...(route.bodyExamples ? { examples: route.bodyExamples } : {}),
              },
            },
          },
        }
      : {}),
    responses,
    security: security(route),
    'x-lookout-policy': { role: route.policy.role, read_only: route.policy.readOnly },
  };
}

const TAGS = [
  { name: 'events', description: 'Publish, page through and stream events' },
  { name: 'state', description: 'The state document, its sections, and commands' },
  { name: 'collections', description: 'Collecting git commits and file changes' },
  { name: 'session', description: 'The workspace lock and read-only mode' },
  { name: 'server', description: 'Health, status and these docs' },
  { name: 'dashboard', description: 'The dashboard page' },
  { name: 'auth', description: 'Sign-in, refresh, sign-out, stream tickets and sign-in codes' },
  { name: 'users', description: 'The users who may sign in (admins)' },
];

/** OpenAPI 3.1 (whose schemas are JSON Schema 2020-12, which zod emits directly). */
export function buildOpenApi(
  routes: readonly { prefix: string; route: Route }[],
  info: { version: string; port: number },
) {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, unknown> = { Error: jsonSchema(ErrorBody, 'output') };
  for (const { prefix, route } of routes) {
    if (route.hidden) continue;
    const openPath = `${prefix}${route.path}`.replace(/:(\w+)/g, '{$1}') || '/';
    (paths[openPath] ??= {})[route.method] = operation(route, prefix, openPath, components);
  }
  const cookie = refreshCookieName(info.port);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lookout API',
      version: info.version,
      description: [
        'Local control room for AI agents. See the protocol page (docs/protocol.md) for WebSocket and SSE.',
        '',
        `Every error is \`{"error": {"code", "message", "details"?}}\`. A method a path does not have is 405 with \`Allow\`; JSON nested deeper than ${MAX_JSON_DEPTH} levels is 400 wherever it is sent.`,
      ].join('\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: TAGS,
    paths,
    components: {
      schemas: components,
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
          name: cookie,
          description: `Only /api/v1/auth/refresh reads it, and only together with the ${HEADERS.refreshBinding} header. Its name carries the port (\`${REFRESH_COOKIE_PATTERN}\`, here \`${cookie}\`).`,
        },
      },
    },
  };
}
