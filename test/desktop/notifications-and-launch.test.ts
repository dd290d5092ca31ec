import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src-shared/events.ts';
import { LaunchRequest, parseLaunchArgs, secondInstanceRequest } from '../../src-main/desktop/launch-args.ts';
import {
  dashboardEventUrl,
  DEFAULT_NOTIFICATION_PREFS,
  formatDuration,
  NoticeThrottle,
  noticeFor,
  type NotificationPrefs,
} from '../../src-main/desktop/notification-policy.ts';

const event = (type: string, data: Record<string, unknown>, sequence_number = 42): EventEnvelope => ({
  type,
  data,
  sequence_number,
  timestamp: '2026-11-23T17:49:02.123Z',
  metadata: {},
});
const ALL_ON: NotificationPrefs = { 'workflow.failed': true, 'workflow.finished': true };
const away = { windowFocused: false };

describe('notification decisions', () => {
  it('are opt-in: nothing is notified by default', () => {
    expect(
      noticeFor(event('workflow.failed', { workflow_id: 'w1', error: 'boom' }), DEFAULT_NOTIFICATION_PREFS, away),
    ).toBeNull();
    expect(noticeFor(event('workflow.finished', { workflow_id: 'w1' }), DEFAULT_NOTIFICATION_PREFS, away)).toBeNull();
  });

  it('are per type: opting into failures does not bring finishes', () => {
    const prefs = { ...DEFAULT_NOTIFICATION_PREFS, 'workflow.failed': true };
    expect(noticeFor(event('workflow.failed', { workflow_id: 'w1', error: 'boom' }), prefs, away)).not.toBeNull();
    expect(noticeFor(event('workflow.finished', { workflow_id: 'w1' }), prefs, away)).toBeNull();
  });

  it('say what failed, where and why, and point at the event', () => {
    expect(
      noticeFor(
        event(
          'workflow.failed',
          { workflow_id: 'w1', name: 'deploy', step: 'migrate', error: 'relation "users" already exists' },
          77,
        ),
        ALL_ON,
        away,
      ),
    ).toEqual({
      title: 'Workflow failed: deploy',
      body: 'migrate: relation "users" already exists',
      sequenceNumber: 77,
    });
    expect(noticeFor(event('workflow.failed', { workflow_id: 'w1', error: 'x' }), ALL_ON, away)?.title).toBe(
      'Workflow failed: w1',
    );
  });

  it('say how long a finished workflow took', () => {
    expect(
      noticeFor(event('workflow.finished', { workflow_id: 'w1', name: 'nightly', duration_ms: 123_000 }), ALL_ON, away),
    ).toMatchObject({
      title: 'Workflow finished: nightly',
      body: 'Finished in 2m 03s',
    });
    expect(noticeFor(event('workflow.finished', { workflow_id: 'w1' }), ALL_ON, away)?.body).toBe('Finished');
  });

  it('ignore other event types, even when everything is on', () => {
    for (const type of [
      'workflow.started',
      'workflow.step_completed',
      'chat.message_sent',
      'x.workflow.failed',
      'system.started',
    ]) {
      expect(noticeFor(event(type, { workflow_id: 'w1', error: 'x' }), ALL_ON, away), type).toBeNull();
    }
  });

  it('stay quiet while the window is focused: the user is already looking', () => {
    expect(
      noticeFor(event('workflow.failed', { workflow_id: 'w1', error: 'x' }), ALL_ON, { windowFocused: true }),
    ).toBeNull();
  });

  it('keep long errors to one short line', () => {
    const notice = noticeFor(
      event('workflow.failed', { workflow_id: 'w1', error: `line one\nline two ${'x'.repeat(500)}` }),
      ALL_ON,
      away,
    );
    expect(notice?.body.length).toBeLessThanOrEqual(200);
    expect(notice?.body).not.toContain('\n');
    expect(notice?.body.endsWith('…')).toBe(true);
  });

  it('formats durations for people', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(4200)).toBe('4.2s');
    expect(formatDuration(123_000)).toBe('2m 03s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h 05m');
  });

  it('throttle bursts: a few per window, then a count of what was held back', () => {
    let now = 0;
    const throttle = new NoticeThrottle({ max: 2, windowMs: 1000, now: () => now });
    expect(throttle.admit()).toEqual({ show: true, heldBack: 0 });
    expect(throttle.admit()).toEqual({ show: true, heldBack: 0 });
    expect(throttle.admit()).toEqual({ show: false, heldBack: 0 });
    expect(throttle.admit()).toEqual({ show: false, heldBack: 0 });
    now = 1000;
    expect(throttle.admit()).toEqual({ show: true, heldBack: 2 });
    expect(throttle.admit()).toEqual({ show: true, heldBack: 0 });
  });

  it('open the event in the dashboard by fragment (no reload, no server route)', () => {
    expect(dashboardEventUrl('http://127.0.0.1:3000', 77)).toBe('http://127.0.0.1:3000/#event=77');
  });
});

describe('launch arguments and the single instance', () => {
  const cwd = '/home/ada';

  it('reads --workspace DIR and --workspace=DIR, resolving against the launch directory', () => {
    expect(parseLaunchArgs(['/opt/Lookout/lookout', '--workspace', '/srv/rover'], cwd)).toEqual({
      workspace: '/srv/rover',
    });
    expect(parseLaunchArgs(['/opt/Lookout/lookout', '--workspace=code/rover'], cwd)).toEqual({
      workspace: path.resolve(cwd, 'code/rover'),
    });
    // Development: electron . --workspace x
    expect(parseLaunchArgs(['/usr/bin/electron', '.', '--workspace', 'x'], cwd)).toEqual({
      workspace: path.resolve(cwd, 'x'),
    });
  });

  it('ignores switches that are not ours, and a --workspace without a value', () => {
    expect(
      parseLaunchArgs(['lookout', '--no-sandbox', '--enable-logging', '--original-process-start-time=1'], cwd),
    ).toEqual({});
    expect(parseLaunchArgs(['lookout', '--workspace'], cwd)).toEqual({});
    expect(parseLaunchArgs(['lookout', '--workspace', '--enable-logging'], cwd)).toEqual({});
    expect(parseLaunchArgs(['lookout', '--workspace='], cwd)).toEqual({});
  });

  it('takes the last --workspace, and stops at --', () => {
    expect(parseLaunchArgs(['lookout', '--workspace', '/a', '--workspace=/b'], cwd)).toEqual({ workspace: '/b' });
    expect(parseLaunchArgs(['lookout', '--workspace', '/a', '--', '--workspace', '/b'], cwd)).toEqual({
      workspace: '/a',
    });
  });

  it('a second launch: prefers its validated additionalData, resolving argv against its own directory otherwise', () => {
    expect(secondInstanceRequest(['lookout', '--workspace', 'x'], '/tmp/second', { workspace: '/srv/rover' })).toEqual({
      workspace: '/srv/rover',
    });
    expect(secondInstanceRequest(['lookout', '--workspace', 'x'], '/tmp/second', {})).toEqual({
      workspace: '/tmp/second/x',
    });
    // Another process's data is input like any other: malformed → ignored, argv decides.
    expect(secondInstanceRequest(['lookout'], '/tmp/second', { workspace: 'relative' })).toEqual({});
    expect(secondInstanceRequest(['lookout'], '/tmp/second', { workspace: 42, evil: true })).toEqual({});
    expect(secondInstanceRequest(['lookout'], '/tmp/second', null)).toEqual({});
  });

  it('what the first launch passes as additionalData validates on the other side', () => {
    expect(LaunchRequest.parse(parseLaunchArgs(['lookout', '--workspace', 'x'], cwd))).toEqual({
      workspace: '/home/ada/x',
    });
    expect(LaunchRequest.parse(parseLaunchArgs(['lookout'], cwd))).toEqual({});
  });
});
