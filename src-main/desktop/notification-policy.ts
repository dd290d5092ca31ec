import type { EventEnvelope } from '../../src-shared/events.ts';

/**
 * Which events may become desktop notifications, and what they say. Off by default:
 * a tool that watches agents all day must not interrupt unless asked to, so each type
 * is opted into on its own (Settings menu).
 */
export const NOTIFIABLE_TYPES = ['workflow.failed', 'workflow.finished'] as const;
export type NotifiableType = (typeof NOTIFIABLE_TYPES)[number];
export type NotificationPrefs = Record<NotifiableType, boolean>;

export const DEFAULT_NOTIFICATION_PREFS: NotificationPrefs = { 'workflow.failed': false, 'workflow.finished': false };

export const NOTIFICATION_LABELS: Record<NotifiableType, string> = {
  'workflow.failed': 'Notify when a workflow fails',
  'workflow.finished': 'Notify when a workflow finishes',
};

export const isNotifiableType = (type: string): type is NotifiableType =>
  (NOTIFIABLE_TYPES as readonly string[]).includes(type);

export interface DesktopNotice {
  title: string;
  body: string;
  /** Clicking the notification opens this event in the dashboard. */
  sequenceNumber: number;
}

const MAX_BODY = 200;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

function clip(value: string, max: number): string {
  const oneLine = value.replace(/\s+/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** `2m 03s`, `4.2s`, `850ms`: enough to tell a quick run from a long one. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * The notice for an event, or null when none is due: the type is not opted into, or the
 * window is in front of the user already (they are looking at the activity log).
 */
export function noticeFor(
  event: EventEnvelope,
  prefs: NotificationPrefs,
  context: { windowFocused: boolean },
): DesktopNotice | null {
  if (!isNotifiableType(event.type) || !prefs[event.type] || context.windowFocused) return null;
  const data = event.data;
  const workflow = text(data.name) ?? text(data.workflow_id) ?? 'workflow';
  if (event.type === 'workflow.failed') {
    const step = text(data.step);
    const error = text(data.error) ?? 'no error message';
    return {
      title: clip(`Workflow failed: ${workflow}`, 80),
      body: clip(step ? `${step}: ${error}` : error, MAX_BODY),
      sequenceNumber: event.sequence_number,
    };
  }
  const duration =
    typeof data.duration_ms === 'number' && data.duration_ms >= 0
      ? `Finished in ${formatDuration(data.duration_ms)}`
      : 'Finished';
  return { title: clip(`Workflow finished: ${workflow}`, 80), body: duration, sequenceNumber: event.sequence_number };
}

/**
 * At most `max` notices per `windowMs`, so a burst of failures (a whole fleet of agents
 * going down) is a handful of notifications, not a wall of them; the dashboard holds
 * the rest. Returns how many were held back when the window closes, once.
 */
export class NoticeThrottle {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #shown = 0;
  #held = 0;

  constructor(options: { max?: number; windowMs?: number; now?: () => number } = {}) {
    this.#max = options.max ?? 3;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** `{ show: true, heldBack }` names how many were suppressed in the window that just ended. */
  admit(): { show: boolean; heldBack: number } {
    const now = this.#now();
    let heldBack = 0;
    if (now - this.#windowStart >= this.#windowMs) {
      heldBack = this.#held;
      this.#windowStart = now;
      this.#shown = 0;
      this.#held = 0;
    }
    if (this.#shown < this.#max) {
      this.#shown++;
      return { show: true, heldBack };
    }
    this.#held++;
    return { show: false, heldBack };
  }
}

/**
 * Where a notification click leads. A fragment, so the dashboard already on screen
 * handles it without a reload, and the server needs no route for it.
 */
export function dashboardEventUrl(serverUrl: string, sequenceNumber: number): string {
  return `${serverUrl}/#event=${sequenceNumber}`;
}
