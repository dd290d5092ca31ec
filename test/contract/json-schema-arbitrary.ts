import fc from 'fast-check';

/**
 * JSON Schema (the subset /openapi.json uses) → fast-check arbitraries: `valid(schema)`
 * generates values the schema accepts, `violating(schema)` candidates it should refuse.
 * Which candidates really violate is decided by ajv, not here; this only has to
 * propose. Two document extensions state rules JSON Schema cannot, and `valid` honours
 * them: `x-unique-ids` (ids unique within an array, or across an object's arrays) and
 * `x-not-before: {end: "start"}` (a date-time property not before another).
 */

export type Schema = { [key: string]: unknown };

const MAX_ITEMS = 4;
const INT32 = 2 ** 31 - 1;
// Characters of the Basic Multilingual Plane outside the surrogates: JSON Schema counts
// lengths in code points and the server in UTF-16 units; they agree on these.
const bmpChar = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xd7ff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x09, 0x0a, 0x0d) },
);
const text = (minLength = 0, maxLength = 20) =>
  fc.array(bmpChar, { minLength, maxLength }).map((codes) => String.fromCharCode(...codes));

const smallJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)));

export class SchemaArbitraries {
  readonly #root: Schema;

  constructor(root: Schema) {
    this.#root = root;
  }

  resolve(schema: Schema): Schema {
    let current = schema;
    while (typeof current.$ref === 'string') {
      const pointer = current.$ref.replace(/^#\//, '').split('/');
      let target: unknown = this.#root;
      for (const part of pointer) target = (target as Schema)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
      current = target as Schema;
    }
    return current;
  }

  /** Values the schema accepts. */
  valid(input: Schema): fc.Arbitrary<unknown> {
    const schema = this.resolve(input);
    if ('const' in schema) return fc.constant(schema.const);
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
    const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
    if (branches) {
      const { oneOf: _o, anyOf: _a, ...base } = schema;
      // `{type: object, properties…, anyOf: [{required: [a]}, {required: [b]}]}`: each
      // branch narrows the base, so merge them.
      return fc.oneof(...branches.map((branch) => this.valid(mergeSchemas(base, this.resolve(branch)))));
    }
    const type = schema.type as string | undefined;
    switch (type) {
      case 'string':
        return this.#string(schema);
      case 'integer': {
        const min = Math.max(Number(schema.minimum ?? -INT32), -INT32);
        const max = Math.min(Number(schema.maximum ?? INT32), INT32);
        return fc.integer({ min, max });
      }
      case 'number': {
        const min = Number(schema.minimum ?? schema.exclusiveMinimum ?? -1e9);
        const max = Number(schema.maximum ?? schema.exclusiveMaximum ?? 1e9);
        return fc
          .double({ min, max, noNaN: true, noDefaultInfinity: true })
          .filter(
            (n) =>
              (schema.exclusiveMinimum === undefined || n > Number(schema.exclusiveMinimum)) &&
              (schema.exclusiveMaximum === undefined || n < Number(schema.exclusiveMaximum)),
          )
          .map((n) => (Object.is(n, -0) ? 0 : n));
      }
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return this.#array(schema);
      case 'object':
        return this.#object(schema);
      default:
        return smallJson; // `{}`: anything
    }
  }

  #string(schema: Schema): fc.Arbitrary<string> {
    const minLength = Number(schema.minLength ?? 0);
    const maxLength = Number(schema.maxLength ?? 10_000);
    const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
    if (schema.format === 'date-time') {
      return fc
        .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
        .map((d) => d.toISOString());
    }
    if (schema.format === 'date') {
      return fc
        .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    }
    if (typeof schema.pattern === 'string') {
      const pattern = new RegExp(schema.pattern, 'u');
      // fast-check cannot generate from lookaheads: generate from the pattern without them,
      // then keep what the whole pattern accepts.
      return fc
        .stringMatching(new RegExp(withoutLookarounds(schema.pattern), 'u'))
        .filter((s) => fits(s) && pattern.test(s));
    }
    return text(minLength, Math.min(maxLength, minLength + 20));
  }

  #array(schema: Schema): fc.Arbitrary<unknown[]> {
    // A tuple (`prefixItems`, then `items` for the rest): each position its own schema.
    const prefix = schema.prefixItems as Schema[] | undefined;
    if (prefix) {
      const rest =
        schema.items === false ? fc.constant([]) : this.#array({ ...schema, prefixItems: undefined, minItems: 0 });
      return fc
        .tuple(fc.tuple(...prefix.map((item) => this.valid(item))), rest)
        .map(([head, tail]) => [...head, ...tail]);
    }
    const items = (schema.items as Schema | undefined) ?? {};
    const minLength = Number(schema.minItems ?? 0);
    const maxLength = Math.min(Number(schema.maxItems ?? MAX_ITEMS), Math.max(minLength, MAX_ITEMS));
    const array = fc.array(this.valid(items), { minLength, maxLength });
    return schema['x-unique-ids'] ? array.map((list) => uniqueIds([list])[0]!) : array;
  }

  #object(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    const required = (schema.required as string[] | undefined) ?? [];
    const known = fc.record(
      Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, this.valid(property)])),
      { requiredKeys: required.filter((name) => name in properties) },
    );
    const additional = schema.additionalProperties;
    const extra =
      additional === false || additional === undefined
        ? fc.constant({})
        : fc.dictionary(
            // Keys follow `propertyNames` when the schema names a rule for them (environment names, say).
            (schema.propertyNames
              ? (this.valid(schema.propertyNames as Schema) as fc.Arbitrary<string>)
              : text(1, 8)
            ).filter((key) => !(key in properties) && key !== '__proto__'),
            additional === true ? smallJson : this.valid(additional as Schema),
            { maxKeys: 3 },
          );
    return fc.tuple(known, extra).map(([own, more]) => {
      const value: Record<string, unknown> = { ...more, ...own };
      const notBefore = schema['x-not-before'] as Record<string, string> | undefined;
      for (const [later, earlier] of Object.entries(notBefore ?? {})) {
        const a = value[later];
        const b = value[earlier];
        if (typeof a === 'string' && typeof b === 'string' && Date.parse(a) < Date.parse(b)) value[later] = b;
      }
      if (schema['x-unique-ids']) {
        const lists = Object.keys(properties).filter((name) => Array.isArray(value[name]));
        const unique = uniqueIds(lists.map((name) => value[name] as unknown[]));
        lists.forEach((name, i) => (value[name] = unique[i]));
      }
      return value;
    });
  }

  /**
   * Candidates that should break the schema: a value of another type, a missing required
   * field, a stray field, a string too long or off its pattern, a number out of range,
   * a bad item — nested anywhere. Some candidates may still be valid; the caller checks.
   */
  violating(input: Schema, depth = 0): fc.Arbitrary<unknown> | undefined {
    const schema = this.resolve(input);
    const candidates: fc.Arbitrary<unknown>[] = [];
    if (typeof schema.type === 'string') candidates.push(wrongType(schema.type));
    if (Array.isArray(schema.enum) || 'const' in schema) candidates.push(fc.constant('not-a-member'), fc.constant(-1));
    const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
    if (branches && depth < 4) {
      const { oneOf: _o, anyOf: _a, ...base } = schema;
      for (const branch of branches) {
        const bad = this.violating(mergeSchemas(base, this.resolve(branch)), depth + 1);
        if (bad) candidates.push(bad);
      }
    }
    switch (schema.type) {
      case 'string': {
        if (schema.maxLength !== undefined) candidates.push(fc.constant('a'.repeat(Number(schema.maxLength) + 1)));
        if (Number(schema.minLength ?? 0) > 0) candidates.push(fc.constant(''));
        if (typeof schema.pattern === 'string' || schema.format !== undefined)
          candidates.push(fc.constantFrom('', ' ', '!', 'not valid', '\t-\t', '2026-13-45'));
        break;
      }
      case 'integer':
      case 'number': {
        if (schema.minimum !== undefined) candidates.push(fc.constant(Number(schema.minimum) - 1));
        if (schema.maximum !== undefined) candidates.push(fc.constant(Number(schema.maximum) + 1));
        if (schema.type === 'integer') candidates.push(fc.constant(0.5));
        break;
      }
      case 'array': {
        const items = (schema.items as Schema | undefined) ?? {};
        const badItem = depth < 4 ? this.violating(items, depth + 1) : undefined;
        if (badItem) {
          candidates.push(
            fc.tuple(fc.array(this.valid(items), { maxLength: 2 }), badItem).map(([list, bad]) => [...list, bad]),
          );
        }
        if (schema.maxItems !== undefined && Number(schema.maxItems) <= 1000) {
          candidates.push(
            this.valid(items).map((item) => Array.from({ length: Number(schema.maxItems) + 1 }, () => item)),
          );
        }
        break;
      }
      case 'object': {
        const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
        const required = (schema.required as string[] | undefined) ?? [];
        const base = this.valid(schema) as fc.Arbitrary<Record<string, unknown>>;
        if (required.length > 0) {
          candidates.push(
            fc.tuple(base, fc.constantFrom(...required)).map(([value, name]) => {
              const { [name]: _gone, ...rest } = value;
              return rest;
            }),
          );
        }
        if (schema.additionalProperties === false) {
          candidates.push(base.map((value) => ({ ...value, zz_not_a_field: 1 })));
        }
        for (const [name, property] of depth < 4 ? Object.entries(properties) : []) {
          const bad = this.violating(property, depth + 1);
          if (bad) candidates.push(fc.tuple(base, bad).map(([value, v]) => ({ ...value, [name]: v })));
        }
        break;
      }
    }
    return candidates.length > 0 ? fc.oneof(...candidates) : undefined;
  }
}

function wrongType(type: string): fc.Arbitrary<unknown> {
  const all: Record<string, unknown> = {
    string: 'text',
    integer: 7,
    number: 1.5,
    boolean: true,
    null: null,
    array: [],
    object: {},
  };
  const own = type === 'number' ? ['number', 'integer'] : [type];
  return fc.constantFrom(
    ...Object.entries(all)
      .filter(([name]) => !own.includes(name))
      .map(([, value]) => value),
  );
}

function mergeSchemas(base: Schema, branch: Schema): Schema {
  const merged: Schema = { ...base, ...branch };
  if (base.properties || branch.properties) {
    merged.properties = { ...(base.properties as object), ...(branch.properties as object) };
  }
  if (base.required || branch.required) {
    merged.required = [...new Set([...((base.required as string[]) ?? []), ...((branch.required as string[]) ?? [])])];
  }
  return merged;
}

/** Renames repeated `id`s (one id space across all the lists) so every id is unique. */
function uniqueIds(lists: unknown[][]): unknown[][] {
  const seen = new Set<string>();
  return lists.map((list) =>
    list.map((item, index) => {
      if (item === null || typeof item !== 'object' || typeof (item as { id?: unknown }).id !== 'string') return item;
      let id = (item as { id: string }).id;
      for (let n = index; seen.has(id); n++) id = `${id.slice(0, 56)}u${n}`;
      seen.add(id);
      return { ...item, id };
    }),
  );
}

/** A regex source without its `(?=…)`/`(?!…)` groups (escapes and character classes respected). */
export function withoutLookarounds(source: string): string {
  let out = '';
  let i = 0;
  let inClass = false;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      out += source.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      continue;
    }
    if (source.startsWith('(?=', i) || source.startsWith('(?!', i)) {
      let depth = 0;
      let cls = false;
      for (; i < source.length; i++) {
        const d = source[i]!;
        if (d === '\\') {
          i++;
          continue;
        }
        if (cls) {
          if (d === ']') cls = false;
          continue;
        }
        if (d === '[') cls = true;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) {
          i++;
          break;
        }
      }
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
