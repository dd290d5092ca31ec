import { parsePatterns } from '../../src-shared/events.ts';
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

const NUMBER = /^\d{1,15}$/;

function invalid(field: string, message: string, detail: string): LookoutError {
  return new LookoutError('invalid_input', message, { details: [{ path: `query.${field}`, message: detail }] });
}

/**
 * `since`, `tail` and `types` as WS and SSE take them; a bad value is a 400 naming the
 * field. A resume point wins over `tail`: a page that asked for the newest N events
 * keeps its URL, and on a reconnect (SSE's Last-Event-ID, or the WS client's `since`)
 * it must continue where it was, not be handed the tail again.
 */
export function parseStreamParams(query: URLSearchParams, lastEventId?: string): StreamParams {
  // The browser resends the same URL on every reconnect, with a newer Last-Event-ID:
  // the header wins, or each reconnect would replay from the original `since`.
  const rawSince = lastEventId ?? query.get('since') ?? undefined;
  let since: number | undefined;
  if (rawSince !== undefined && rawSince !== '') {
    if (!NUMBER.test(rawSince)) {
      throw invalid(
        'since',
        `since must be a sequence number (a non-negative integer); got ${JSON.stringify(rawSince)}`,
        'expected a non-negative integer',
      );
    }
    since = Number(rawSince);
  }
  const rawTail = query.get('tail') ?? '';
  let tail: number | undefined;
  if (rawTail !== '') {
    // Above the replay limit it is capped there (EventStream), like any replay: a page
    // that asks for more than a server keeps must still connect.
    if (!NUMBER.test(rawTail)) {
      throw invalid(
        'tail',
        `tail must be a number of events (a non-negative integer); got ${JSON.stringify(rawTail)}`,
        'expected a non-negative integer',
      );
    }
    tail = since === undefined ? Number(rawTail) : undefined;
  }
  const parsed = parsePatterns(query.get('types') ?? undefined);
  if (!parsed.ok) throw invalid('types', parsed.error, parsed.error);
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
  return JSON.stringify({ type: 'replay_complete', last_sequence_number: item.last_sequence_number });
}
