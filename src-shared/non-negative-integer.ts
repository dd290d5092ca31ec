import { z } from 'zod';

/**
 * The one reading of a number that arrives as text (query parameters, Last-Event-ID, CLI
 * flags such as `--since`): decimal digits only, at most 15 (so it is exact below 2^53).
 * `0x10`, `+5`, `-1`, ``, ` 5`, `1e3`, `10.0` and `1.5` are all refused, by every route
 * and client alike — `Number()` and `z.coerce` accept most of them.
 */
const DIGITS = /^\d{1,15}$/;

/** The largest number 15 digits can write: the top of every `integerParam`. */
export const MAX_TEXT_INTEGER = 999_999_999_999_999;

export const NON_NEGATIVE_INTEGER_HINT = 'a non-negative integer in plain decimal digits';

/** The number, or undefined when the text is not plain decimal digits. */
export function parseNonNegativeInteger(text: string): number | undefined {
  return DIGITS.test(text) ? Number(text) : undefined;
}

/**
 * A query parameter holding an integer in [min, max]. Its output side (what
 * /openapi.json shows) is `{type: integer, minimum, maximum}`; its input side is the text.
 */
export function integerParam(min: number, max: number) {
  return z
    .string({ error: `expected ${NON_NEGATIVE_INTEGER_HINT}` })
    .regex(DIGITS, { error: `expected ${NON_NEGATIVE_INTEGER_HINT}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );
}
