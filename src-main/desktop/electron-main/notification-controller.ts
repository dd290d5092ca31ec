import type { EventEnvelope } from '../../../src-shared/events.ts';
import type { DesktopSettings } from '../desktop-settings.ts';
import { dashboardEventUrl, NOTIFIABLE_TYPES, NoticeThrottle, noticeFor } from '../notification-policy.ts';
import type { ToggleRuntime } from '../server-toggle.ts';
import type { Notifier } from './notifier.ts';
import type { WindowController } from './window-controller.ts';

/**
 * Desktop notifications for the events the user opted into (notification-policy.ts
 * decides which, and how often): they follow whichever runtime is up, and a click opens
 * the event in the dashboard.
 */
export class NotificationController {
  readonly #notifier: Notifier;
  readonly #settings: DesktopSettings;
  readonly #window: WindowController;
  readonly #throttle = new NoticeThrottle();
  #following: ToggleRuntime | undefined;

  constructor(options: { notifier: Notifier; settings: DesktopSettings; window: WindowController }) {
    this.#notifier = options.notifier;
    this.#settings = options.settings;
    this.#window = options.window;
  }

  /**
   * Listens to `runtime`'s bus once it is new. A stopped runtime closes its bus, which
   * ends the subscription with it, so there is nothing to undo.
   */
  follow(runtime: ToggleRuntime | undefined): void {
    if (!runtime || runtime === this.#following) return;
    this.#following = runtime;
    runtime.bus.listen(NOTIFIABLE_TYPES, (event: EventEnvelope) => this.#notify(runtime, event));
  }

  #notify(runtime: ToggleRuntime, event: EventEnvelope): void {
    const notice = noticeFor(event, this.#settings.value.notifications, { windowFocused: this.#window.focused });
    if (!notice) return;
    const { show, heldBack } = this.#throttle.admit();
    if (!show) return;
    const serverUrl = runtime.url;
    this.#notifier.show({
      title: notice.title,
      body: heldBack > 0 ? `${notice.body} (${heldBack} more in the dashboard)` : notice.body,
      onClick: () => this.#window.showAt(dashboardEventUrl(serverUrl, notice.sequenceNumber)),
    });
  }
}
