import { z } from 'zod';
import { expect, it } from 'vitest';
import { initialState } from '../../../src-shared/state.ts';
import { StaleSection, StateStore } from '../../../src-main/state/state-store.ts';
import { capturedLogger } from '../../helpers/captured-logger.ts';
import { describeEachDialect, type StoreFixture, storeFixture } from '../../helpers/dialects.ts';

const Memory = z.object({ head: z.string() });

describeEachDialect('StateStore', (dialect) => {
  let fixture: StoreFixture;
  const open = async () => {
    const { logger } = capturedLogger();
    return { state: await StateStore.open(await fixture.open(), logger) };
  };

  it('starts from the initial document and keeps what is written across reopening', async () => {
    fixture = await storeFixture(dialect);
    const { state } = await open();
    expect(state.document()).toEqual(initialState());
    await state.set('priorities', [{ id: 'P1', title: 'one', status: 'open' }]);
    await state.set('system', { status: 'IDLE', progress: 40, last_sync: null });
    // A copy: changing what was returned changes nothing stored.
    state.get('priorities').push({ id: 'P2', title: 'two', status: 'open' });
    expect(state.get('priorities')).toHaveLength(1);

    const { state: again } = await open();
    expect(again.get('priorities')).toEqual([{ id: 'P1', title: 'one', status: 'open' }]);
    expect(again.get('system')).toEqual({ status: 'IDLE', progress: 40, last_sync: null });
  });

  it('lands writes in the order they were made, and a reload sees another connection’s write', async () => {
    fixture = await storeFixture(dialect);
    const { state } = await open();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        state.set('system', { status: 'COLLECTING', progress: i * 5, last_sync: null }),
      ),
    );
    expect(state.get('system').progress).toBe(95);
    const { state: other } = await open();
    expect(other.get('system').progress).toBe(95);
    await other.set('active_brief', { target: 'P1', summary: 'the brief', created_at: '2026-11-30T00:00:00.000Z' });
    expect(state.get('active_brief')).toBeNull();
    await state.reload();
    expect(state.get('active_brief')).toMatchObject({ target: 'P1' });
  });

  it('writes a section by compare-and-set: a write over a version another writer replaced fails and writes nothing', async () => {
    fixture = await storeFixture(dialect);
    const { state: a } = await open();
    const { state: b } = await open();
    await a.set('priorities', [{ id: 'P1', title: 'first', status: 'open' }]); // a new row
    // B never read A's row: its insert loses, and B's cache stays as it was.
    await expect(b.set('priorities', [{ id: 'P9', title: 'blind', status: 'open' }])).rejects.toBeInstanceOf(
      StaleSection,
    );
    expect(b.get('priorities')).toEqual([]);
    expect(await b.reload()).toBe(true);
    await b.set('priorities', [{ id: 'P1', title: 'second', status: 'open' }]); // over A's version
    // Now A holds the older version: its write fails, and the row keeps B's.
    await expect(a.set('priorities', [{ id: 'P1', title: 'lost?', status: 'open' }])).rejects.toThrow(
      /changed by another server/,
    );
    const { state: reader } = await open();
    expect(reader.get('priorities')).toEqual([{ id: 'P1', title: 'second', status: 'open' }]);
    // A reload takes only newer rows, and says whether anything changed.
    expect(await a.reload()).toBe(true);
    expect(a.get('priorities')).toEqual([{ id: 'P1', title: 'second', status: 'open' }]);
    expect(await a.reload()).toBe(false);
    await a.set('priorities', []);
    expect(await b.reload()).toBe(true);
    expect(b.get('priorities')).toEqual([]);
  });

  it('falls back to the default for a row it cannot read, and says so', async () => {
    fixture = await storeFixture(dialect);
    const store = await fixture.open();
    await store.run('INSERT INTO state (section, json, updated_at) VALUES (?, ?, ?)', [
      'priorities',
      '{"not": "a list"',
      new Date().toISOString(),
    ]);
    const { logger, find } = capturedLogger();
    const state = await StateStore.open(store, logger);
    expect(state.get('priorities')).toEqual([]);
    expect(find('ignoring an unreadable state row')).toHaveLength(1);
  });

  it('keeps private rows (collector memory) beside the document, checked against their schema', async () => {
    fixture = await storeFixture(dialect);
    const { state } = await open();
    await state.writePrivate('collector.git', { head: 'abc' });
    await state.writePrivate('collector.files', { head: 42 });
    expect(state.readPrivate('collector.git', Memory)).toEqual({ head: 'abc' });
    expect(state.readPrivate('collector.files', Memory)).toBeUndefined(); // wrong shape
    expect(state.document()).toEqual(initialState()); // never part of the document
    const { state: again } = await open();
    expect(again.readPrivate('collector.git', Memory)).toEqual({ head: 'abc' });
    await again.deletePrivate('collector.git');
    const { state: third } = await open();
    expect(third.readPrivate('collector.git', Memory)).toBeUndefined();
    expect(() => state.readPrivate('undotted', Memory)).toThrow(/dotted/);
  });
});
