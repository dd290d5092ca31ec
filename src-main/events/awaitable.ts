/**
 * A value now, or later. The SQLite event log answers synchronously (so a single user's
 * streams keep today's latency and ordering); the PostgreSQL one answers with promises.
 * Code that serves both chains with `andThen` and waits only when it must. (Not named
 * `then`: a module exporting `then` is itself thenable, and `await import()` calls it.)
 */
export type Awaitable<T> = T | Promise<T>;

/** fn(value) now if value is here, else once it arrives. */
export function andThen<T, R>(value: Awaitable<T>, fn: (value: T) => Awaitable<R>): Awaitable<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}
