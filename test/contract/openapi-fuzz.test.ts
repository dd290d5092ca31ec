import fs from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src-main/runtime.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { type Schema, SchemaArbitraries } from './json-schema-arbitrary.ts';

/**
 * A property-based fuzzer over /openapi.json, checking what Schemathesis checks: for every
 * operation, schema-valid and schema-violating requests, and then
 *   - no 5xx;
 *   - every status is one the document lists for the operation;
 *   - every body has a documented content type and matches its schema;
 *   - a schema-valid request is not refused with 400;
 *   - a schema-violating request is not accepted;
 *   - an operation that needs the token answers 401 without it.
 * Deterministic by default (a fixed seed); LOOKOUT_FUZZ_SEED and LOOKOUT_FUZZ_RUNS
 * explore further.
 */

const SEED = Number(process.env.LOOKOUT_FUZZ_SEED ?? 20_261_130);
const RUNS = Number(process.env.LOOKOUT_FUZZ_RUNS ?? 25);
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Schema;
}
interface Operation {
  method: string;
  path: string;
  operationId: string;
  parameters: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security: unknown[];
}
interface FuzzRequest {
  kind: 'valid' | 'violating' | 'no-token';
  /** What was made invalid, for the report. */
  what: string;
  path: Record<string, string>;
  query: [string, string][];
  /** JSON to send, or raw text with its own content type (malformed JSON, a form post). */
  body?: { json: unknown } | { raw: string; type: string } | undefined;
}

function operationsOf(document: { paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>> }) {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) operations.push({ ...op, method, path });
    }
  }
  // The handover leaves the workspace read-only for a while: run it last, then the recheck that ends it.
  const rank = (op: Operation) =>
    op.operationId === 'postSessionHandover' ? 1 : op.operationId === 'postSessionRecheck' ? 2 : 0;
  return operations.sort((a, b) => rank(a) - rank(b));
}

const digitsOnly = /^\d{1,15}$/;

class Fuzzer {
  readonly arbs: SchemaArbitraries;
  readonly #ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: false });
  readonly #compiled = new WeakMap<Schema, ValidateFunction>();
  readonly #components: unknown;
  requests = 0;
  /** Responses by status, to show what was exercised. */
  readonly statuses = new Map<number, number>();

  readonly runtime: Runtime;

  constructor(runtime: Runtime, document: Schema) {
    this.runtime = runtime;
    this.arbs = new SchemaArbitraries(document);
    this.#components = document.components;
  }

  validator(schema: Schema): ValidateFunction {
    let validate = this.#compiled.get(schema);
    if (!validate) {
      validate = this.#ajv.compile({ ...schema, components: this.#components });
      this.#compiled.set(schema, validate);
    }
    return validate;
  }

  #pathValue(parameter: Parameter): fc.Arbitrary<string> {
    return this.arbs
      .valid(parameter.schema)
      .map(String)
      .filter((s) => s !== '' && s !== '.' && s !== '..');
  }

  #queryValue(parameter: Parameter): fc.Arbitrary<string> {
    return this.arbs.valid(parameter.schema).map(String);
  }

  valid(op: Operation): fc.Arbitrary<FuzzRequest> {
    const pathParams = op.parameters.filter((p) => p.in === 'path');
    const queryParams = op.parameters.filter((p) => p.in === 'query');
    const body = op.requestBody?.content['application/json']?.schema;
    return fc.record({
      kind: fc.constant('valid' as const),
      what: fc.constant(''),
      path: fc.record(Object.fromEntries(pathParams.map((p) => [p.name, this.#pathValue(p)]))),
      query: fc
        .tuple(
          ...queryParams.map((p) =>
            p.required
              ? this.#queryValue(p).map((v) => [[p.name, v]] as [string, string][])
              : fc
                  .option(this.#queryValue(p), { nil: undefined })
                  .map((v) => (v === undefined ? [] : ([[p.name, v]] as [string, string][]))),
          ),
        )
        .map((lists) => lists.flat()),
      body: body ? this.arbs.valid(body).map((json) => ({ json })) : fc.constant(undefined),
    });
  }

  /** One thing made wrong per request: the body, a query value, a path value, or a missing body. */
  violating(op: Operation): fc.Arbitrary<FuzzRequest> | undefined {
    const base = this.valid(op);
    const sites: fc.Arbitrary<FuzzRequest>[] = [];
    const body = op.requestBody?.content['application/json']?.schema;
    if (body) {
      const validate = this.validator(body);
      const bad = this.arbs.violating(body);
      if (bad) {
        sites.push(
          fc
            .tuple(
              base,
              bad.filter((value) => !validate(value)),
            )
            .map(([request, json]) => ({ ...request, kind: 'violating' as const, what: 'body', body: { json } })),
        );
      }
      if (op.requestBody?.required) {
        sites.push(
          base.map((request) => ({ ...request, kind: 'violating' as const, what: 'no body', body: undefined })),
        );
      }
      // Not JSON at all: text that does not parse, or a body in another media type.
      sites.push(
        fc
          .tuple(
            base,
            fc.constantFrom(
              { raw: '{"type": ', type: 'application/json' },
              { raw: '[1, 2', type: 'application/json' },
              { raw: 'type=x.a', type: 'application/x-www-form-urlencoded' },
              { raw: '{"type":"x.a"}', type: 'text/plain' },
            ),
          )
          .map(([request, raw]) => ({ ...request, kind: 'violating' as const, what: `raw ${raw.type}`, body: raw })),
      );
    }
    for (const parameter of op.parameters) {
      const bad = this.#badText(parameter.schema);
      if (!bad) continue;
      sites.push(
        fc.tuple(base, bad).map(([request, text]) =>
          parameter.in === 'path'
            ? {
                ...request,
                kind: 'violating' as const,
                what: `path ${parameter.name}`,
                path: { ...request.path, [parameter.name]: text },
              }
            : {
                ...request,
                kind: 'violating' as const,
                what: `query ${parameter.name}`,
                query: [
                  ...request.query.filter(([name]) => name !== parameter.name),
                  [parameter.name, text] as [string, string],
                ],
              },
        ),
      );
    }
    return sites.length > 0 ? fc.oneof(...sites) : undefined;
  }

  /** Text that a parameter's schema refuses (parameters travel as text). */
  #badText(input: Schema): fc.Arbitrary<string> | undefined {
    const schema = this.arbs.resolve(input);
    if (Array.isArray(schema.enum)) return fc.constantFrom('not-a-member', 'NOPE.css');
    if (schema.type === 'integer') {
      const out = [
        'abc',
        '-1',
        '1.5',
        '0x10',
        '+5',
        '',
        ' 5',
        '1e3',
        '10.0',
        ...(schema.maximum !== undefined ? [String(Number(schema.maximum) + 1)] : []),
        ...(Number(schema.minimum ?? 0) > 0 ? [String(Number(schema.minimum) - 1)] : []),
      ];
      // Each of these is refused by the schema: not digits, or out of range.
      return fc.constantFrom(
        ...out.filter(
          (t) =>
            !digitsOnly.test(t) ||
            Number(t) > Number(schema.maximum ?? Infinity) ||
            Number(t) < Number(schema.minimum ?? 0),
        ),
      );
    }
    if (schema.type === 'string' && typeof schema.pattern === 'string') {
      const pattern = new RegExp(schema.pattern, 'u');
      const options = ['Bad Type', '!!', 'a b', '*.*', 'UPPER.case.*', ',,bad'].filter((t) => !pattern.test(t));
      return options.length > 0 ? fc.constantFrom(...options) : undefined;
    }
    return undefined;
  }

  #explain(schema: Schema, value: unknown): string {
    const validate = this.validator(schema);
    validate(value);
    return this.#ajv.errorsText(validate.errors);
  }

  async send(op: Operation, request: FuzzRequest) {
    this.requests++;
    let path = op.path;
    for (const [name, value] of Object.entries(request.path))
      path = path.replace(`{${name}}`, encodeURIComponent(value));
    const query = new URLSearchParams(request.query).toString();
    const headers: Record<string, string> = {};
    if (op.security.length > 0 && request.kind !== 'no-token') headers['x-session-token'] = this.runtime.token;
    let body: string | undefined;
    if (request.body !== undefined && 'raw' in request.body) {
      headers['content-type'] = request.body.type;
      body = request.body.raw;
    } else if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.body.json);
    }
    const controller = new AbortController();
    const res = await fetch(`${this.runtime.url}${path}${query ? `?${query}` : ''}`, {
      method: op.method.toUpperCase(),
      headers,
      body,
      redirect: 'manual',
      signal: controller.signal,
    });
    this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    let text = '';
    if (type === 'text/event-stream')
      controller.abort(); // a stream never ends: its headers are the answer
    else text = await res.text();
    return { status: res.status, type, text, url: `${op.method.toUpperCase()} ${path}${query ? `?${query}` : ''}` };
  }

  async check(op: Operation, request: FuzzRequest): Promise<string[]> {
    const res = await this.send(op, request);
    const problems: string[] = [];
    const where = `${res.url} (${request.kind}${request.what ? `: ${request.what}` : ''}) → ${res.status}`;
    // A 503 the document lists is a state the server reports on purpose (the dashboard
    // not built yet), not a crash; any other 5xx is a failure.
    const deliberate = res.status === 503 && op.responses['503'] !== undefined;
    if (res.status >= 500 && !deliberate) problems.push(`server error: ${where} ${res.text.slice(0, 300)}`);
    const documented = op.responses[String(res.status)];
    if (!documented) {
      problems.push(`undocumented status: ${where} ${res.text.slice(0, 200)}`);
    } else if (documented.content) {
      const media = Object.keys(documented.content).map((t) => t.split(';')[0]!.trim().toLowerCase());
      if (!media.includes(res.type)) {
        problems.push(`undocumented content type ${res.type || '(none)'}: ${where}; documented ${media.join(', ')}`);
      } else if (res.type === 'application/json') {
        const schema = Object.entries(documented.content).find(([t]) => t.startsWith('application/json'))?.[1].schema;
        if (schema) {
          const validate = this.validator(schema);
          let parsed: unknown;
          try {
            parsed = JSON.parse(res.text);
          } catch {
            problems.push(`body is not JSON: ${where}`);
          }
          if (parsed !== undefined && !validate(parsed)) {
            problems.push(`body does not match the schema: ${where} ${this.#ajv.errorsText(validate.errors)}`);
          }
        }
      }
    }
    if (request.kind === 'valid' && res.status === 400) {
      problems.push(
        `schema-valid request refused: ${where} ${res.text.slice(0, 300)} body=${JSON.stringify(request.body)?.slice(0, 300)}`,
      );
    }
    if (request.kind === 'violating' && res.status < 400) {
      const body = op.requestBody?.content['application/json']?.schema;
      const why = body && request.body && 'json' in request.body ? this.#explain(body, request.body.json) : '';
      if (process.env.LOOKOUT_FUZZ_DUMP)
        fs.appendFileSync(process.env.LOOKOUT_FUZZ_DUMP, `${JSON.stringify(request.body)}\n`);
      problems.push(
        `schema-violating request accepted: ${where} ${why} body=${JSON.stringify(request.body)?.slice(0, 300)}`,
      );
    }
    if (request.kind === 'no-token' && res.status !== 401) problems.push(`no token but not 401: ${where}`);
    return problems;
  }
}

describe('the server against its own /openapi.json', () => {
  it('answers schema-valid and schema-violating requests to every operation as documented', async () => {
    const runtime = await startRuntime();
    const document = (await (await fetch(`${runtime.url}/openapi.json`)).json()) as Schema & {
      paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
    };
    const fuzzer = new Fuzzer(runtime, document);
    const operations = operationsOf(document);
    const failures: string[] = [];

    const run = async (op: Operation, arbitrary: fc.Arbitrary<FuzzRequest>, runs: number) => {
      const result = await fc.check(
        fc.asyncProperty(arbitrary, async (request) => {
          const problems = await fuzzer.check(op, request);
          if (problems.length > 0) throw new Error(problems.join('\n'));
        }),
        { numRuns: runs, seed: SEED, endOnFailure: true },
      );
      if (result.failed)
        failures.push(`${op.operationId}: ${String((result.errorInstance as Error | undefined)?.message ?? result)}`);
    };

    for (const op of operations) {
      await run(op, fuzzer.valid(op), RUNS);
      const violating = fuzzer.violating(op);
      if (violating) await run(op, violating, RUNS);
      if (op.security.length > 0) {
        await run(
          op,
          fuzzer.valid(op).map((request) => ({ ...request, kind: 'no-token' as const })),
          1,
        );
      }
    }

    const seen = [...fuzzer.statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
    console.log(
      `openapi-fuzz: ${operations.length} operations, ${fuzzer.requests} requests, ${failures.length} failures (statuses ${seen}; seed ${SEED}, ${RUNS} runs per operation and kind)`,
    );
    expect(failures).toEqual([]);
  }, 120_000);
});
