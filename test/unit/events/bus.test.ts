import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../../src-main/events/bus.ts';
import { SqliteEventLog } from '../../../src-main/events/sqlite-event-log.ts';
import { LookoutError } from '../../../src-main/errors.ts';
import { type Database, openDatabase } from '../../../src-main/store/database.ts';
import type { EventEnvelope } from '../../../src-shared/events.ts';
import { MAX_BATCH, MAX_EVENT_BYTES } from '../../../src-shared/protocol.ts';
import { capturedLogger, LEVEL } from '../../helpers/captured-logger.ts';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

function bus(queueSize = 100) {
  const db = openDatabase(':memory:');
  open.push(db);
  const captured = capturedLogger();
  return { bus: new EventBus({ log: new SqliteEventLog(db), logger: captured.logger, queueSize }), ...captured };
}

/** The LookoutError a call throws (failing the test if it does not throw one). */
async function refusal(fn: () => Promise<unknown>): Promise<LookoutError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LookoutError);
    return error as LookoutError;
  }
  throw new Error('expected a refusal');
}

const stored = async (b: EventBus) => await b.log.read({ after: 0, patterns: ['*'], limit: 10_000 });

describe('EventBus.publish', () => {
  it('validates, stamps, stores and answers with the envelopes, metadata always present', async () => {
    const { bus: b } = bus();
    const envelopes = await b.publish([
      { type: 'workflow.started', data: { workflow_id: 'w1' }, metadata: { agent: 'claude' } },
      { type: 'x.custom', data: { any: ['thing'] } },
    ]);
    expect(envelopes.map((e) => [e.sequence_number, e.type, e.metadata])).toEqual([
      [1, 'workflow.started', { agent: 'claude' }],
      [2, 'x.custom', {}],
    ]);
    expect((await stored(b)).map((row) => JSON.parse(row.json) as EventEnvelope)).toEqual(envelopes);
  });

  it('refuses a bad batch whole, naming every offending field by index', async () => {
    const { bus: b } = bus();
    const error = await refusal(() =>
      b.publish([
        { type: 'x.fine', data: {} },
        { type: 'workflow.started', data: {} },
        { type: 'nope', data: {} },
      ]),
    );
    expect(error.code).toBe('invalid_input');
    expect(error.message).toBe('invalid event: events.1.data.workflow_id: required (string)');
    expect(error.details).toEqual([
      { path: 'events.1.data.workflow_id', message: 'required (string)' },
      { path: 'events.2.type', message: expect.any(String) },
    ]);
    expect(await stored(b)).toEqual([]);
    // A single event names its fields from the root.
    expect((await refusal(() => b.publish([{ type: 'workflow.started', data: {} }]))).details).toEqual([
      { path: 'data.workflow_id', message: 'required (string)' },
    ]);
    // ...unless the caller says the body was a batch of one.
    expect((await refusal(() => b.publish([{ type: 'nope' }], { batch: true }))).details).toEqual([
      { path: 'events.0.type', message: expect.any(String) },
    ]);
  });

  it('refuses an event over 64 KiB (413 naming it) and a batch over 1000', async () => {
    const { bus: b } = bus();
    const big = { type: 'x.big', data: { blob: 'a'.repeat(MAX_EVENT_BYTES) } };
    const one = await refusal(() => b.publish([big]));
    expect(one.code).toBe('payload_too_large');
    expect(one.details).toEqual([{ path: '(root)', message: `larger than ${MAX_EVENT_BYTES} bytes` }]);
    const inBatch = await refusal(() => b.publish([{ type: 'x.small' }, big]));
    expect(inBatch.message).toMatch(/^event 1 is \d+ bytes of JSON; the limit is 65536$/);
    expect(inBatch.details).toEqual([{ path: 'events.1', message: `larger than ${MAX_EVENT_BYTES} bytes` }]);
    const tooMany = await refusal(() => b.publish(Array.from({ length: MAX_BATCH + 1 }, () => ({ type: 'x.n' }))));
    expect(tooMany.code).toBe('payload_too_large');
    expect(tooMany.message).toBe(`a batch holds at most 1000 events; got 1001`);
    expect(await stored(b)).toEqual([]);
  });

  it('measures the limit on the stored envelope, exactly at the boundary, and rolls a batch back whole', async () => {
    const { bus: b } = bus();
    // Size an event so that its stored envelope is exactly MAX_EVENT_BYTES.
    const probe = (await b.publish([{ type: 'x.fit', data: { blob: '' } }]))[0]!;
    const overhead = Buffer.byteLength(JSON.stringify({ ...probe, sequence_number: probe.sequence_number + 1 }));
    const fits = { type: 'x.fit', data: { blob: 'a'.repeat(MAX_EVENT_BYTES - overhead) } };
    const [accepted] = await b.publish([fits]);
    expect(
      Buffer.byteLength((await b.log.read({ after: probe.sequence_number, patterns: ['*'], limit: 1 }))[0]!.json),
    ).toBe(MAX_EVENT_BYTES);
    const over = { type: 'x.fit', data: { blob: 'a'.repeat(MAX_EVENT_BYTES - overhead + 1) } };
    const refused = await refusal(() => b.publish([{ type: 'x.before' }, over, { type: 'x.after' }]));
    expect(refused.details).toEqual([{ path: 'events.1', message: `larger than ${MAX_EVENT_BYTES} bytes` }]);
    // Nothing of the batch is stored, and its numbers are not used up.
    expect(b.log.lastSequenceNumber).toBe(accepted!.sequence_number);
    expect((await b.publish([{ type: 'x.next' }]))[0]!.sequence_number).toBe(accepted!.sequence_number + 1);
  });

  it("keeps system.* and session.* for the server's own voice (emit)", async () => {
    const { bus: b } = bus();
    expect((await refusal(() => b.publish([{ type: 'system.started', data: {} }]))).details).toEqual([
      {
        path: 'type',
        message:
          'system.*, session.*, auth.*, agent.*, task.*, sandbox.*, knowledge.* and git.operation_completed are published by the server only',
      },
    ]);
    const envelope = await b.emit('system.started', { version: '1.2.3', pid: 7 });
    expect(envelope).toMatchObject({ type: 'system.started', sequence_number: 1, metadata: {} });
    // Server types are catalogued too: the server's own events are checked like anyone's.
    expect(
      (await refusal(() => b.publish([{ type: 'session.lock_changed', data: {} }], { allowServerTypes: true })))
        .details,
    ).toContainEqual({ path: 'data.read_only', message: 'required (boolean)' });
  });

  it('refuses what is not an event at all (undefined, a string) as invalid input, not a crash', async () => {
    const { bus: b } = bus();
    for (const input of [undefined, 'x.a', 42, null]) {
      const error = await refusal(() => b.publish([input]));
      expect(error.code).toBe('invalid_input');
      expect(error.details).toEqual([{ path: '(root)', message: expect.stringMatching(/JSON object/) }]);
    }
  });

  it('stores nothing and numbers nothing for an empty batch', async () => {
    const { bus: b } = bus();
    expect(await b.publish([])).toEqual([]);
    expect(b.log.lastSequenceNumber).toBe(0);
  });
});

describe('EventBus fan-out', () => {
  it('offers every stored event to every subscriber, in order, after it is committed', async () => {
    const { bus: b } = bus();
    const seen: number[][] = [[], []];
    const subs = [0, 1].map((i) =>
      b.subscribe({
        patterns: i === 0 ? ['*'] : ['x.b'],
        onReadable: () => {
          // Committed before anyone hears of it: the store already has it.
          expect(b.log.lastSequenceNumber).toBeGreaterThan(0);
          seen[i]!.push(-1);
        },
      }),
    );
    expect(b.subscriberCount).toBe(2);
    await b.publish([{ type: 'x.a' }, { type: 'x.b' }, { type: 'x.a' }]);
    const take = (i: number) => {
      const out: number[] = [];
      for (let item = subs[i]!.take(); item; item = subs[i]!.take()) if ('event' in item) out.push(item.event.seq);
      return out;
    };
    expect(take(0)).toEqual([1, 2, 3]);
    expect(take(1)).toEqual([2]);
    expect(seen).toEqual([[-1], [-1]]);
  });

  it('gives each subscriber the default queue size unless it asks for its own', async () => {
    const { bus: b } = bus(2);
    const small = b.subscribe({ patterns: ['*'], onReadable: () => undefined });
    const large = b.subscribe({ patterns: ['*'], onReadable: () => undefined, capacity: 10 });
    expect([small.capacity, large.capacity]).toEqual([2, 10]);
    await b.publish([{ type: 'x.1' }, { type: 'x.2' }, { type: 'x.3' }]);
    expect([small.dropped, large.dropped]).toEqual([1, 0]);
  });

  it('logs a failing in-process subscriber and still serves the others and the publisher', async () => {
    const { bus: b, find } = bus();
    b.subscribe({
      patterns: ['*'],
      onReadable: () => {
        throw new Error('listener bug');
      },
    });
    const healthy = b.subscribe({ patterns: ['*'], onReadable: () => undefined });
    expect(await b.publish([{ type: 'x.a' }])).toHaveLength(1);
    expect(healthy.size).toBe(1);
    const [line] = find('subscriber failed');
    expect(line).toMatchObject({ level: LEVEL.error, err: { message: 'listener bug' } });
  });

  it('listen() calls back with parsed envelopes (after the publisher returns) until unsubscribed', async () => {
    const { bus: b } = bus();
    const got: EventEnvelope[] = [];
    const stop = b.listen(['x.*'], (event) => got.push(event));
    const publishing = b.publish([
      { type: 'x.a', data: { n: 1 } },
      { type: 'chat.message_sent', data: { text: 'no' } },
    ]);
    expect(got).toEqual([]); // a listener never runs inside publish()
    const published = await publishing;
    await Promise.resolve();
    expect(got).toEqual([published[0]]);
    stop();
    expect(b.subscriberCount).toBe(0);
    await b.publish([{ type: 'x.b' }]);
    await Promise.resolve();
    expect(got).toHaveLength(1);
  });

  it('listen() skips the overflow notice and keeps delivering after it', async () => {
    const { bus: b } = bus(2);
    const got: number[] = [];
    b.listen(['*'], (event) => got.push(event.sequence_number));
    await b.publish([{ type: 'x.1' }, { type: 'x.2' }, { type: 'x.3' }]); // one dropped before the microtask runs
    await Promise.resolve();
    expect(got).toEqual([2, 3]);
  });

  it('close() releases every subscription', async () => {
    const { bus: b } = bus();
    const subs = [
      b.subscribe({ patterns: ['*'], onReadable: () => undefined }),
      b.subscribe({ patterns: ['*'], onReadable: () => undefined }),
    ];
    b.close();
    expect(b.subscriberCount).toBe(0);
    expect(subs.every((s) => s.closed)).toBe(true);
  });
});
