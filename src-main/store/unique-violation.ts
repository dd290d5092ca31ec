/**
 * Whether a failed statement broke a UNIQUE or PRIMARY KEY constraint, in either dialect:
 * node:sqlite reports SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY (extended codes 2067 / 1555),
 * pg the SQLSTATE 23505. Callers turn it into their own 409 (a name taken meanwhile).
 */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.code === '23505') return true;
  if (e.errcode === 2067 || e.errcode === 1555) return true;
  return typeof e.message === 'string' && /UNIQUE constraint failed|PRIMARY KEY constraint failed/.test(e.message);
}
