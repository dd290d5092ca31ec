/**
 * SQLSTATE classes and driver errors that mean "the database cannot be reached", not "the
 * SQL is wrong". Its own module, without the `pg` driver: the event log imports it, and
 * a SQLite-only server never loads `pg`.
 */
export function isConnectionFault(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P|53)/.test(code)) return true; // connection exception, operator intervention, resources
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'ENOENT'].includes(code))
    return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended|not queryable/i.test(
    message,
  );
}
