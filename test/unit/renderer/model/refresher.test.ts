import { describe, expect, it } from 'vitest';
import { Refresher } from '../../../../src-renderer/model/refresher.ts';

describe('Refresher', () => {
  it('runs one read at a time; requests meanwhile fold into one more read after it', async () => {
    let reads = 0;
    let release: (() => void) | undefined;
    const refresher = new Refresher(async () => {
      reads++;
      await new Promise<void>((resolve) => (release = resolve));
    });
    const first = refresher.run();
    const second = refresher.run();
    refresher.run();
    expect(second).toBe(first);
    expect(reads).toBe(1);
    release!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(2); // the asks during the first read: one more read
    release!();
    await first;
    expect(reads).toBe(2);
    const third = refresher.run();
    expect(third).not.toBe(first);
    release!();
    await third;
    expect(reads).toBe(3);
  });

  it('is free again after a read throws', async () => {
    let calls = 0;
    const refresher = new Refresher(async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    });
    await expect(refresher.run()).rejects.toThrow('boom');
    await refresher.run();
    expect(calls).toBe(2);
  });

  it('reads again on a change only once it was asked for, including during the first read', async () => {
    let reads = 0;
    let release!: () => void;
    const refresher = new Refresher(
      () =>
        new Promise<void>((resolve) => {
          reads++;
          release = resolve;
        }),
    );
    refresher.changed();
    expect(reads).toBe(0); // nobody asked for the list: nothing is fetched
    const first = refresher.run();
    refresher.changed(); // heard while the first read is on its way
    release();
    await expect.poll(() => reads).toBe(2);
    release();
    await first;
    refresher.changed(); // and after it
    expect(reads).toBe(3);
    release();
  });
});
