/**
 * The line the tray's "Copy lookout env line" puts on the clipboard. Pasted into a
 * terminal, it points scripts and agents at the running server: LOOKOUT_URL and
 * LOOKOUT_TOKEN are what `lookout run` gives its command, LOOKOUT_WORKSPACE is how the
 * `lookout` command finds the workspace from any directory.
 */
export interface CliEnv {
  url: string;
  token: string;
  workspace: string;
}

export type Shell = 'posix' | 'powershell';

export const shellFor = (platform: NodeJS.Platform): Shell => (platform === 'win32' ? 'powershell' : 'posix');

/** Plain words stay bare; anything else is single-quoted, the only quoting with no escapes inside. */
function posixQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

const powershellQuote = (value: string): string => `'${value.replaceAll("'", "''")}'`;

export function cliEnvLine(env: CliEnv, shell: Shell): string {
  const pairs: [string, string][] = [
    ['LOOKOUT_URL', env.url],
    ['LOOKOUT_TOKEN', env.token],
    ['LOOKOUT_WORKSPACE', env.workspace],
  ];
  if (shell === 'powershell') return pairs.map(([name, value]) => `$env:${name}=${powershellQuote(value)}`).join('; ');
  return `export ${pairs.map(([name, value]) => `${name}=${posixQuote(value)}`).join(' ')}`;
}
