import { describe, expect, it } from 'vitest';
import { CATALOGUED_TYPES, namespaceOf, SERVER_NAMESPACES, SERVER_TYPES } from '../../src-shared/events.ts';
import { api, startRuntime } from '../helpers/runtime.ts';

interface Operation {
  operationId: string;
  responses: Record<string, unknown>;
  requestBody?: {
    content: Record<
      string,
      {
        schema: { oneOf?: unknown[]; anyOf?: unknown[]; required?: string[] };
        examples: Record<string, { value: unknown }>;
      }
    >;
  };
}

type Doc = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: {
    schemas: Record<string, Record<string, unknown>>;
    securitySchemes: Record<string, Record<string, string>>;
  };
};

/** What issue 12 found loose in the document, each point checked against the document the server serves. */
describe('/openapi.json', () => {
  it('is as strict as the server where issue 12 found it loose', async () => {
    const runtime = await startRuntime();
    const doc = (await (await fetch(`${runtime.url}/openapi.json`)).json()) as Doc;
    const op = (path: string, method: string) => doc.paths[path]![method] as unknown as Operation;
    const bodySchema = (path: string, method: string) => op(path, method).requestBody!.content['application/json']!;

    // A legal cookie name (this server's), the per-port pattern in the description; only
    // the refresh reads it.
    const cookie = doc.components.securitySchemes.refreshCookie!;
    expect(cookie.name).toBe(`lookout_refresh_${runtime.port}`);
    expect(cookie.name).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
    expect(cookie.description).toContain('lookout_refresh_<port>');

    // POST /events: single or batch, exclusive, with required fields and an example of every client type.
    const publish = bodySchema('/api/v1/events', 'post');
    expect(publish.schema.oneOf).toHaveLength(2);
    const single = doc.components.schemas.EventInput as {
      oneOf: { required: string[]; properties: { type: { const?: string } } }[];
    };
    expect(single.oneOf.every((branch) => branch.required.includes('type'))).toBe(true);
    const clientTypes = CATALOGUED_TYPES.filter(
      (t) => !SERVER_NAMESPACES.includes(namespaceOf(t)) && !SERVER_TYPES.includes(t),
    );
    expect(
      single.oneOf
        .map((b) => b.properties.type.const)
        .filter(Boolean)
        .sort(),
    ).toEqual([...clientTypes].sort());
    expect(Object.keys(publish.examples)).toEqual(expect.arrayContaining([...clientTypes, 'batch']));
    // A documented example is accepted as it stands.
    const example = publish.examples['workflow.started']!.value;
    expect((await api(runtime, '/api/v1/events', { method: 'POST', json: example })).status).toBe(201);

    // POST /system/status needs a field; the sign-in route has its body (one of three forms).
    expect(bodySchema('/api/v1/system/status', 'post').schema.anyOf).toEqual([
      { required: ['status'] },
      { required: ['progress'] },
    ]);
    expect(
      (bodySchema('/api/v1/auth/sign-in', 'post').schema.anyOf as { required: string[] }[]).map((b) => b.required),
    ).toEqual([['name', 'password'], ['code'], ['token']]);

    // Statuses the server returns are listed.
    expect(Object.keys(op('/api/v1/events', 'post').responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '413', '415']),
    );
    expect(Object.keys(op('/api/v1/state/priorities', 'put').responses)).toEqual(
      expect.arrayContaining(['200', '400', '413', '415', '423']),
    );
    expect(op('/api/v1/events', 'post').responses['423']).toBeUndefined(); // events are allowed read-only

    // No templated path overlaps a concrete one; every operation has a unique operationId.
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/state/{'))).toEqual([]);
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
