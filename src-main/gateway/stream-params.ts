import { parsePatterns } from '../../src-shared/events.ts';
import { NON_NEGATIVE_INTEGER_HINT, parseNonNegativeInteger } from '../../src-shared/non-negative-integer.ts';
import type { ConnectedMessage } from '../../src-shared/protocol.ts';
import type { SessionState } from '../../src-shared/session.ts';
import { LookoutError } from '../errors.ts';
import type { EventStream, StreamItem } from '../events/event-stream.ts';

export interface StreamParams {
  /** Resume after this number (the `since` query, or SSE's Last-Event-ID). */
  since: number | undefined;
  /** Without a resume point: start with the newest `tail` matching events. */
  tail: number | undefined;
  patterns: string[];
}

function invalid(field: string, message: string, detail: string): LookoutError {
  return new LookoutError('invalid_input', message, { details: [{ path: field, message: detail }] });
}

/** A number read the one strict way (src-shared/non-negative-integer.ts), or a 400 naming where it came from. */
function number(raw: string, field: string, name: string, what: string): number {
  const value = parseNonNegativeInteger(raw);
  if (value === undefined) {
    throw invalid(
      field,
      `${name} must be ${what} (${NON_NEGATIVE_INTEGER_HINT}); got ${JSON.stringify(raw)}`,
      `expected ${NON_NEGATIVE_INTEGER_HINT}`,
    );
  }
  return value;
}

/**
 * `since`, `tail` and `types` as WS and SSE take them; a bad value is a 400 naming the
 * field. A resume point wins over `tail`: a page that asked for the newest N events
 * keeps its URL, and on a reconnect (SSE's Last-Event-ID, or the WS client's `since`)
 * it must continue where it was, not be handed the tail again.
 */
export function parseStreamParams(query: URLSearchParams, lastEventId?: string): StreamParams {
  // The browser resends the same URL on every reconnect, with a newer Last-Event-ID:
  // the header wins, or each reconnect would replay from the original `since`. An empty
  // header means "no id yet"; an empty `since=` is an error like any other non-number.
  const rawSince = lastEventId || (query.has('since') ? query.get('since')! : undefined);
  const since =
    rawSince === undefined
      ? undefined
      : number(rawSince, lastEventId ? 'header.last-event-id' : 'query.since', 'since', 'a sequence number');
  // Above the replay limit it is capped there (EventStream), like any replay: a page
  // that asks for more than a server keeps must still connect.
  const rawTail = query.has('tail') ? query.get('tail')! : undefined;
  const tailed = rawTail === undefined ? undefined : number(rawTail, 'query.tail', 'tail', 'a number of events');
  const tail = since === undefined ? tailed : undefined;
  const parsed = parsePatterns(query.get('types') ?? undefined);
  if (!parsed.ok) throw invalid('query.types', parsed.error, parsed.error);
  return { since, tail, patterns: parsed.patterns };
}

/** What a stream's first message tells a client besides its stream position. */
export interface ServerHello {
  version: string;
  workspace: string;
  session: SessionState;
}

/**
 * The `connected` message, the same for WS and SSE: everything a page needs to draw its
 * first frame (who holds the lock, what server, which workspace, where the history starts
 * and ends), all as of the stream's boundary, so no REST round trip is needed.
 */
export function connectedMessage(
  clientId: string,
  stream: EventStream,
  epoch: string,
  hello: ServerHello,
): ConnectedMessage {
  return {
    type: 'connected',
    client_id: clientId,
    epoch,
    last_sequence_number: stream.boundary,
    oldest_sequence_number: stream.oldestAtBoundary,
    types: [...stream.patterns],
    version: hello.version,
    workspace: hello.workspace,
    session: hello.session,
  };
}

/** The text of a control item as a JSON message (events are already serialized). */
export function controlJson(item: Exclude<StreamItem, { kind: 'event' }>): string {
  if (item.kind === 'gap') return JSON.stringify({ type: 'gap', from: item.from, to: item.to, reason: item.reason });
  if (item.kind === 'error') return JSON.stringify({ type: 'error', code: item.code, message: item.message });
  return JSON.stringify({ type: 'replay_complete', last_sequence_number: item.last_sequence_number });
}
