import { describe, expect, it } from 'vitest';
import { RateSeries } from '../../../../src-renderer/model/rate-series.ts';

const T0 = Date.parse('2026-11-23T17:00:00.000Z');
const at = (second: number, ms = 0) => T0 + second * 1000 + ms;

describe('RateSeries', () => {
  it('counts events per second by their own timestamps, leaving out the unfinished second', () => {
    const rates = new RateSeries(10);
    for (let i = 0; i < 5; i++) rates.record(at(1, i * 100), 'chat');
    for (let i = 0; i < 3; i++) rates.record(at(3, i), 'workflow');
    rates.record(at(4, 10), 'chat');
    expect(rates.series(at(4, 500), 5)).toEqual([0, 0, 5, 0, 3]);
    expect(rates.current(at(4, 500))).toBe(3);
    expect(rates.current(at(5))).toBe(1);
  });

  it('fills the past from a replay instead of spiking at arrival', () => {
    const rates = new RateSeries(60);
    // Arriving now, stamped 30 s ago.
    for (let i = 0; i < 100; i++) rates.record(at(0), 'x');
    const series = rates.series(at(30));
    expect(series[series.length - 30]).toBe(100);
    expect(rates.current(at(30))).toBe(0);
  });

  it('forgets seconds that slid out of the window and reuses their slots', () => {
    const rates = new RateSeries(5);
    rates.record(at(0), 'chat');
    rates.record(at(0), 'chat');
    rates.record(at(5), 'chat'); // same slot as second 0
    expect(rates.series(at(6), 5)).toEqual([0, 0, 0, 0, 1]);
    rates.record(at(0), 'chat'); // too old now: ignored
    expect(rates.series(at(6), 5)).toEqual([0, 0, 0, 0, 1]);
    expect(rates.series(at(100), 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('breaks the window down by namespace, largest first', () => {
    const rates = new RateSeries(10);
    rates.record(at(1), 'chat');
    rates.record(at(2), 'workflow');
    rates.record(at(2), 'workflow');
    rates.record(at(3), 'git');
    expect(rates.byNamespace(at(4))).toEqual([
      { namespace: 'workflow', count: 2 },
      { namespace: 'chat', count: 1 },
      { namespace: 'git', count: 1 },
    ]);
    expect(rates.byNamespace(at(12))).toEqual([{ namespace: 'git', count: 1 }]);
    rates.clear();
    expect(rates.byNamespace(at(4))).toEqual([]);
  });

  it('ignores timestamps that do not parse', () => {
    const rates = new RateSeries(5);
    rates.record(Number.NaN, 'chat');
    expect(rates.byNamespace(at(1))).toEqual([]);
  });
});
