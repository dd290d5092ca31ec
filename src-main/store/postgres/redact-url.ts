/**
 * The database URL as it may be shown (messages, logs, /health): the password replaced,
 * everything else kept. Also a password given as a `password=` query parameter.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return '(an unparsable database URL)';
  }
}
