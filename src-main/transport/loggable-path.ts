/** Longest request path written to the log; the rest is summarized as a count. */
export const MAX_LOGGED_PATH = 256;

/**
 * A request path as it may appear in the log: everything outside a conservative set is
 * percent-encoded (so `$(…)`, quotes, backticks, `;` and control characters never land
 * in a file verbatim, wherever that file ends up), and it is capped in length.
 */
export function loggablePath(raw: string): string {
  const safe = raw.replace(/[^A-Za-z0-9\-._~/%:@,+=]/gu, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return safe.length > MAX_LOGGED_PATH
    ? `${safe.slice(0, MAX_LOGGED_PATH)}…(+${safe.length - MAX_LOGGED_PATH} chars)`
    : safe;
}
