import { describe, expect, it } from 'vitest';
import { jsonTextTooDeep, jsonValueTooDeep } from '../../../src-shared/json-depth.ts';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON depth checks', () => {
  it('counts arrays and objects, not scalars', () => {
    expect(jsonTextTooDeep('1', 0)).toBe(false);
    expect(jsonTextTooDeep('{}', 0)).toBe(true);
    expect(jsonTextTooDeep('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(jsonTextTooDeep('{"a":[{"b":1}]}', 2)).toBe(true);
    expect(jsonValueTooDeep({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(jsonValueTooDeep({ a: [{ b: 1 }] }, 2)).toBe(true);
    expect(jsonValueTooDeep('x', 0)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[{{{{ \\" " [[[[' });
    expect(jsonTextTooDeep(text, 1)).toBe(false);
    expect(jsonTextTooDeep(text, 0)).toBe(true);
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    const text = nested(100_000);
    expect(jsonTextTooDeep(text, 64)).toBe(true);
    expect(jsonValueTooDeep(JSON.parse(text), 64)).toBe(true);
    expect(jsonTextTooDeep(nested(64), 64)).toBe(false);
    expect(jsonValueTooDeep(JSON.parse(nested(64)), 64)).toBe(false);
    expect(jsonValueTooDeep(JSON.parse(nested(65)), 64)).toBe(true);
  });
});
