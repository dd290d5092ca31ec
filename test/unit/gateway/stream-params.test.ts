import { describe, expect, it } from 'vitest';
import { LookoutError } from '../../../src-main/errors.ts';
import { controlJson, parseStreamParams } from '../../../src-main/gateway/stream-params.ts';

const parse = (query: string, lastEventId?: string) => parseStreamParams(new URLSearchParams(query), lastEventId);

function refusal(query: string, lastEventId?: string): LookoutError {
  try {
    parse(query, lastEventId);
  } catch (error) {
    expect(error).toBeInstanceOf(LookoutError);
    return error as LookoutError;
  }
  throw new Error(`expected ${query} to be refused`);
}

describe('parseStreamParams', () => {
  it('defaults to live only, all types', () => {
    expect(parse('')).toEqual({ since: undefined, tail: undefined, patterns: ['*'] });
  });

  it('reads since, tail and types', () => {
    expect(parse('since=42&types=chat.*,workflow.failed')).toEqual({
      since: 42,
      tail: undefined,
      patterns: ['chat.*', 'workflow.failed'],
    });
    expect(parse('tail=100')).toEqual({ since: undefined, tail: 100, patterns: ['*'] });
    expect(parse('tail=0')).toMatchObject({ tail: 0 });
  });

  it('lets a resume point win over tail, and Last-Event-ID over since', () => {
    expect(parse('tail=100&since=7')).toMatchObject({ since: 7, tail: undefined });
    expect(parse('tail=100', '9')).toMatchObject({ since: 9, tail: undefined });
    expect(parse('since=7', '9')).toMatchObject({ since: 9 });
  });

  it('refuses bad values with 400 naming the query field', () => {
    for (const [query, field] of [
      ['since=', 'query.since'],
      ['since=0x10', 'query.since'],
      ['since=%2B5', 'query.since'],
      ['since=1e3', 'query.since'],
      ['tail=', 'query.tail'],
      ['tail=10.0', 'query.tail'],
      ['since=-1', 'query.since'],
      ['since=abc', 'query.since'],
      ['since=1234567890123456', 'query.since'],
      ['tail=-5', 'query.tail'],
      ['tail=1.5', 'query.tail'],
      ['tail=lots', 'query.tail'],
      ['types=bad pattern', 'query.types'],
      ['types=x.a,Workflow?', 'query.types'],
    ] as const) {
      const error = refusal(query);
      expect(error.code, query).toBe('invalid_input');
      expect(error.status, query).toBe(400);
      expect(error.details, query).toEqual([{ path: field, message: expect.any(String) }]);
    }
    expect(refusal('', 'x1').message).toBe(
      'since must be a sequence number (a non-negative integer in plain decimal digits); got "x1"',
    );
    expect(refusal('', 'x1').details).toEqual([{ path: 'header.last-event-id', message: expect.any(String) }]);
    expect(refusal('tail=ten').message).toBe(
      'tail must be a number of events (a non-negative integer in plain decimal digits); got "ten"',
    );
  });
});

describe('controlJson', () => {
  it('writes gap and replay_complete as their wire messages', () => {
    expect(JSON.parse(controlJson({ kind: 'gap', from: 3, to: 9, reason: 'overflow' }))).toEqual({
      type: 'gap',
      from: 3,
      to: 9,
      reason: 'overflow',
    });
    expect(JSON.parse(controlJson({ kind: 'replay_complete', last_sequence_number: 12 }))).toEqual({
      type: 'replay_complete',
      last_sequence_number: 12,
    });
  });
});
