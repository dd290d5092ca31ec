import { Notification } from 'electron';

/**
 * Desktop notifications. Live notifications are held in a set until they are clicked
 * or closed: Electron forgets the click handler of a Notification object that has been
 * garbage-collected, which would make "click to open the event" fail at random.
 */
export class Notifier {
  readonly #live = new Set<Notification>();
  readonly #icon: string | undefined;

  constructor(options: { icon?: string } = {}) {
    this.#icon = options.icon;
  }

  get supported(): boolean {
    return Notification.isSupported();
  }

  show(notice: { title: string; body: string; onClick?: () => void }): boolean {
    if (!Notification.isSupported()) return false;
    const notification = new Notification({
      title: notice.title,
      body: notice.body,
      silent: false,
      ...(this.#icon ? { icon: this.#icon } : {}),
    });
    this.#live.add(notification);
    const forget = () => this.#live.delete(notification);
    notification.on('click', () => {
      forget();
      notice.onClick?.();
    });
    notification.on('close', forget);
    notification.on('failed', forget);
    notification.show();
    return true;
  }
}
