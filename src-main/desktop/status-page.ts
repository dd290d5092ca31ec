import { createHash } from 'node:crypto';
import type { DesktopState } from './ipc-api.ts';

/**
 * The page the window shows while no server runs ("Server stopped", starting, an error,
 * or no workspace yet). It cannot come from the server, so the app renders it itself
 * and loads it as a data: URL. It reaches the main process only through the preload's
 * `window.lookout`, and its CSP allows exactly its own inline style and script (by
 * hash) — nothing from the network.
 */

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
:root { color-scheme: light dark; --fg: #1d232b; --muted: #5b6570; --bg: #f6f7f9; --card: #fff; --accent: #2563eb; --danger: #b42318; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --muted: #9aa4b0; --bg: #15181d; --card: #1d2127; --accent: #60a5fa; --danger: #f97066; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 34rem; padding: 2rem 2.25rem; background: var(--card); border-radius: 12px; box-shadow: 0 1px 3px rgb(0 0 0 / 0.12); }
h1 { font-size: 1.35rem; margin: 0 0 0.5rem; }
p { margin: 0.5rem 0; color: var(--muted); }
code { font: 0.9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; color: var(--fg); }
.error { color: var(--danger); }
.actions { display: flex; gap: 0.6rem; flex-wrap: wrap; margin-top: 1.25rem; }
button { font: inherit; padding: 0.45rem 1rem; border-radius: 8px; border: 1px solid var(--muted); background: transparent; color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button:disabled { opacity: 0.5; cursor: default; }
button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
#message:empty { display: none; }
`;

// Plain JavaScript: this runs in the page, not in Node. Buttons say what they do in
// data-action; the main process reloads this page on every state change, so the script
// never has to redraw anything itself.
const SCRIPT = `
const api = window.lookout;
const message = document.getElementById('message');
const buttons = Array.from(document.querySelectorAll('button[data-action]'));
if (!api) {
  message.textContent = 'The desktop bridge is not available; restart Lookout.';
  for (const b of buttons) b.disabled = true;
}
for (const button of buttons) {
  button.addEventListener('click', async () => {
    for (const b of buttons) b.disabled = true;
    message.textContent = '';
    try {
      const action = button.dataset.action;
      if (action === 'start') await api.startServer();
      else if (action === 'start-free-port') await api.startServer({ free_port: true });
      else if (action === 'choose') {
        const result = await api.chooseWorkspace();
        if (result.message) message.textContent = result.message;
      }
    } catch (error) {
      message.textContent = String((error && error.message) || error);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  });
}
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

interface View {
  title: string;
  lines: string[];
  error?: string;
  actions: { action: 'start' | 'start-free-port' | 'choose'; label: string; primary?: boolean }[];
}

function viewFor(state: DesktopState): View {
  const { server, workspace } = state;
  const where = workspace ? `<code>${escapeHtml(workspace)}</code>` : '';
  const choose = { action: 'choose', label: workspace ? 'Choose another workspace…' : 'Choose a workspace…' } as const;
  if (!workspace || (server.status === 'error' && server.reason === 'no_workspace')) {
    return {
      title: 'Choose a workspace',
      lines: [
        'Pick the folder your agents work in. Lookout keeps its history in a <code>.lookout</code> folder inside it.',
      ],
      actions: [{ ...choose, primary: true }],
    };
  }
  switch (server.status) {
    case 'starting':
      return { title: 'Starting the server…', lines: [`Workspace ${where}`], actions: [] };
    case 'stopping':
      return { title: 'Stopping the server…', lines: [`Workspace ${where}`], actions: [] };
    case 'error': {
      const actions: View['actions'] = [
        { action: 'start', label: 'Try again', primary: server.reason !== 'port_taken' },
      ];
      if (server.reason === 'port_taken')
        actions.unshift({ action: 'start-free-port', label: 'Start on a free port', primary: true });
      return {
        title: server.reason === 'stop_failed' ? 'The server did not stop cleanly' : 'The server could not start',
        lines: [`Workspace ${where}`],
        error: server.message,
        actions: [...actions, choose],
      };
    }
    case 'running':
      // Only for the instant between the server coming up and the dashboard loading.
      return { title: 'Opening the dashboard…', lines: [`Workspace ${where}`], actions: [] };
    case 'stopped':
      return {
        title: 'Server stopped',
        lines: [
          `Workspace ${where}`,
          'The dashboard, the <code>lookout</code> command and other clients cannot connect until it runs again.',
        ],
        actions: [{ action: 'start', label: 'Start server', primary: true }, choose],
      };
  }
}

export function statusPageHtml(state: DesktopState): string {
  const view = viewFor(state);
  const buttons = view.actions
    .map(
      (a) =>
        `<button type="button" data-action="${a.action}"${a.primary ? ' class="primary"' : ''}>${escapeHtml(a.label)}</button>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${STATUS_PAGE_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lookout — ${escapeHtml(view.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(view.title)}</h1>
${view.lines.map((line) => `<p>${line}</p>`).join('\n')}
${view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : ''}
<div class="actions">${buttons}</div>
<p id="message" role="status" class="error"></p>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** The page as something `loadURL` takes. Base64 keeps `#` and `%` in messages intact. */
export function statusPageUrl(state: DesktopState): string {
  return `data:text/html;charset=utf-8;base64,${Buffer.from(statusPageHtml(state)).toString('base64')}`;
}
