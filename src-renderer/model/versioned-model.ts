/**
 * A mutable model React reads through useSyncExternalStore: `version` is the snapshot
 * (it changes on every mutation, so React re-renders), `subscribe` the listener hook.
 * The activity log, the task board, the discussions and the knowledge library all mutate
 * in place for speed and share this one notifier.
 */
export class VersionedModel {
  #version = 0;
  #listeners = new Set<() => void>();

  /** Changes on every mutation; what React subscribes to. */
  get version(): number {
    return this.#version;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Subclasses call this after each mutation. */
  protected changed(): void {
    this.#version++;
    for (const listener of this.#listeners) listener();
  }
}
