import { describe, expect, it } from 'vitest';
import {
  describeLock,
  formatAge,
  formatClock,
  formatCount,
  formatDuration,
  formatWhen,
  secondsUntil,
} from '../../../../src-renderer/model/format.ts';

describe('format', () => {
  it('writes clock times with milliseconds in local time', () => {
    const d = new Date(2026, 10, 23, 9, 5, 7, 42);
    expect(formatClock(d.toISOString())).toBe('09:05:07.042');
    expect(formatClock('not a date')).toBe('not a date');
  });

  it('names the lock holder like the banner does', () => {
    const since = new Date(2026, 10, 23, 14, 2).toISOString();
    expect(describeLock({ holder: 'cli', pid: 4242, hostname: 'box', since, id: 'x' })).toBe(
      'CLI pid 4242 since 14:02',
    );
    expect(describeLock({ holder: 'server', pid: 1, hostname: null, since: 'garbage', id: null })).toBe('Server pid 1');
    expect(describeLock({ holder: null, pid: null, hostname: null, since: null, id: null })).toBe('nobody');
  });

  it('writes counts, countdowns, durations and ages', () => {
    expect(formatCount(60000)).toBe('60,000');
    expect(secondsUntil(10_500, 10_000)).toBe(1);
    expect(secondsUntil(9_000, 10_000)).toBe(0);
    expect(formatDuration(5)).toBe('5 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    const now = Date.parse('2026-11-23T17:00:00Z');
    expect(formatAge('2026-11-23T16:59:50Z', now)).toBe('just now');
    expect(formatAge('2026-11-23T16:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2026-11-23T14:00:00Z', now)).toBe('3 h ago');
  });

  it('writes calendar times relative to today', () => {
    const now = new Date(2026, 10, 23, 12, 0);
    expect(formatWhen(new Date(2026, 10, 23, 14, 30).toISOString(), now)).toBe('14:30');
    expect(formatWhen(new Date(2026, 10, 24, 9, 0).toISOString(), now)).toBe('Tomorrow 09:00');
    expect(formatWhen('2026-11-24', now)).toBe('Tomorrow');
    expect(formatWhen(new Date(2026, 10, 26, 10, 0).toISOString(), now)).toMatch(/^Thu, Nov 26 10:00$/);
  });
});
