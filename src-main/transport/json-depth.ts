import { jsonTextTooDeep, jsonValueTooDeep } from '../../src-shared/json-depth.ts';
import { MAX_JSON_DEPTH } from '../../src-shared/protocol.ts';
import { LookoutError } from '../errors.ts';

/** The one refusal for JSON nested too deep: a 400 naming the limit and where it was hit. */
export function tooDeepError(where: string): LookoutError {
  return new LookoutError(
    'invalid_input',
    `${where} nests arrays/objects more than ${MAX_JSON_DEPTH} levels deep; the limit is ${MAX_JSON_DEPTH}`,
    { details: [{ path: where, message: `deeper than ${MAX_JSON_DEPTH} levels` }] },
  );
}

/** Refuses JSON text nested deeper than MAX_JSON_DEPTH, before it is parsed. */
export function assertJsonTextDepth(text: string, where: string): void {
  if (jsonTextTooDeep(text, MAX_JSON_DEPTH)) throw tooDeepError(where);
}

/** Refuses a value nested deeper than MAX_JSON_DEPTH, before it is stored or published. */
export function assertJsonDepth(value: unknown, where: string): void {
  if (jsonValueTooDeep(value, MAX_JSON_DEPTH)) throw tooDeepError(where);
}
