import { parsePatterns } from '../../src-shared/events.ts';
import { NON_NEGATIVE_INTEGER_HINT, parseNonNegativeInteger } from '../../src-shared/non-negative-integer.ts';
import { LookoutError } from '../errors.ts';
import type { StreamItem } from '../events/event-stream.ts';

export interface StreamParams {
  since: number | undefined;
  patterns: string[];
}

/** `since` and `types` as WS and SSE take them; a bad value is a 400 naming the field. */
export function parseStreamParams(query: URLSearchParams, lastEventId?: string): StreamParams {
  // The browser resends the same URL on every reconnect, with a newer Last-Event-ID:
  // the header wins, or each reconnect would replay from the original `since`. An empty
  // header means "no id yet"; an empty `since=` is an error like any other non-number.
  const rawSince = lastEventId || (query.has('since') ? query.get('since')! : undefined);
  let since: number | undefined;
  if (rawSince !== undefined) {
    since = parseNonNegativeInteger(rawSince);
    if (since === undefined) {
      throw new LookoutError(
        'invalid_input',
        `since must be a sequence number (${NON_NEGATIVE_INTEGER_HINT}); got ${JSON.stringify(rawSince)}`,
        {
          details: [
            {
              path: lastEventId ? 'header.last-event-id' : 'query.since',
              message: `expected ${NON_NEGATIVE_INTEGER_HINT}`,
            },
          ],
        },
      );
    }
  }
  const parsed = parsePatterns(query.get('types') ?? undefined);
  if (!parsed.ok) {
    throw new LookoutError('invalid_input', parsed.error, {
      details: [{ path: 'query.types', message: parsed.error }],
    });
  }
  return { since, patterns: parsed.patterns };
}

/** The text of a control item as a JSON message (events are already serialized). */
export function controlJson(item: Exclude<StreamItem, { kind: 'event' }>): string {
  if (item.kind === 'gap') return JSON.stringify({ type: 'gap', from: item.from, to: item.to, reason: item.reason });
  return JSON.stringify({ type: 'replay_complete', last_sequence_number: item.last_sequence_number });
}
