import { describe, expect, it } from 'vitest';
import { shouldTrim, youngGenerationBytes } from '../../src-main/idle-memory-trim.ts';

describe('idle memory trim', () => {
  it('trims only an idle loop with a young generation above 4 MB', () => {
    const MB = 2 ** 20;
    expect(shouldTrim(0, 32 * MB)).toBe(true);
    expect(shouldTrim(0.019, 16 * MB)).toBe(true);
    expect(shouldTrim(0.02, 32 * MB)).toBe(false); // busy enough: a trim would delay requests
    expect(shouldTrim(0.5, 32 * MB)).toBe(false);
    expect(shouldTrim(0, 4 * MB)).toBe(false); // already small: nothing to give back
    expect(shouldTrim(0, 1 * MB)).toBe(false);
  });

  it('reads the young generation from V8', () => {
    expect(youngGenerationBytes()).toBeGreaterThan(0);
  });
});
