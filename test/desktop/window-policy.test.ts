import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assetPath } from '../../src-main/desktop/assets.ts';
import type { DesktopState } from '../../src-main/desktop/ipc-api.ts';
import { STATUS_PAGE_CSP, statusPageHtml, statusPageUrl } from '../../src-main/desktop/status-page.ts';
import {
  closeDecision,
  isTrustedSender,
  navigationDecision,
  originOf,
  permissionDecision,
  SESSION_PARTITION,
  WEB_PREFERENCES,
  windowContent,
  windowOpenDecision,
} from '../../src-main/desktop/window-policy.ts';

const SERVER = 'http://127.0.0.1:3000';

describe('the window policy', () => {
  it('runs the renderer isolated, sandboxed, without Node, in an in-memory session', () => {
    expect(WEB_PREFERENCES).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(SESSION_PARTITION.startsWith('persist:')).toBe(false);
  });

  it('pins navigation to the server origin; https goes to the OS browser; the rest is refused', () => {
    expect(navigationDecision(`${SERVER}/`, SERVER)).toBe('allow');
    expect(navigationDecision(`${SERVER}/docs?x=1#y`, SERVER)).toBe('allow');
    expect(navigationDecision('https://github.com/lookout', SERVER)).toBe('open-externally');
    for (const target of [
      'http://127.0.0.1:3001/', // another port is another origin
      'http://localhost:3000/', // same server, different origin: the cookie would not follow
      'http://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,<h1>hi</h1>',
      'lookout://x',
      'not a url',
    ]) {
      expect(navigationDecision(target, SERVER), target).toBe('deny');
    }
  });

  it('allows no navigation at all while no server runs (the status page is loaded by the app)', () => {
    expect(navigationDecision(`${SERVER}/`, null)).toBe('deny');
    expect(navigationDecision('https://example.com/', null)).toBe('open-externally');
  });

  it('never opens Electron windows: https to the OS browser, everything else denied', () => {
    expect(windowOpenDecision('https://example.com/page')).toBe('open-externally');
    expect(windowOpenDecision(`${SERVER}/docs`)).toBe('deny');
    expect(windowOpenDecision('http://example.com/')).toBe('deny');
    expect(windowOpenDecision('file:///tmp/x.html')).toBe('deny');
    expect(windowOpenDecision('about:blank')).toBe('deny');
  });

  it('denies permission requests, except sanitized clipboard writes from the dashboard itself', () => {
    for (const permission of [
      'media',
      'geolocation',
      'notifications',
      'clipboard-read',
      'openExternal',
      'fileSystem',
      'display-capture',
      'unknown',
    ]) {
      expect(permissionDecision(permission, `${SERVER}/`, SERVER), permission).toBe(false);
    }
    expect(permissionDecision('clipboard-sanitized-write', `${SERVER}/`, SERVER)).toBe(true);
    expect(permissionDecision('clipboard-sanitized-write', SERVER, SERVER)).toBe(true); // check handlers pass an origin
    expect(permissionDecision('clipboard-sanitized-write', 'https://evil.example/', SERVER)).toBe(false);
    expect(permissionDecision('clipboard-sanitized-write', 'data:text/html,x', SERVER)).toBe(false);
    expect(permissionDecision('clipboard-sanitized-write', `${SERVER}/`, null)).toBe(false);
  });

  it('lets only the top frame of the server or the status page call the preload API', () => {
    expect(isTrustedSender({ url: `${SERVER}/`, isMainFrame: true }, SERVER)).toBe(true);
    expect(isTrustedSender({ url: 'data:text/html;charset=utf-8;base64,AAAA', isMainFrame: true }, null)).toBe(true);
    expect(isTrustedSender({ url: `${SERVER}/`, isMainFrame: false }, SERVER)).toBe(false);
    expect(isTrustedSender({ url: `${SERVER}/`, isMainFrame: true }, null)).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/', isMainFrame: true }, SERVER)).toBe(false);
    expect(isTrustedSender({ url: 'http://127.0.0.1:3001/', isMainFrame: true }, SERVER)).toBe(false);
  });

  it('closing hides to the tray with a hint the first time, hides quietly after, or quits when configured', () => {
    expect(closeDecision({ closeToTray: true, quitting: false, hintShown: false })).toBe('hide-with-hint');
    expect(closeDecision({ closeToTray: true, quitting: false, hintShown: true })).toBe('hide');
    expect(closeDecision({ closeToTray: false, quitting: false, hintShown: false })).toBe('quit');
    expect(closeDecision({ closeToTray: true, quitting: true, hintShown: false })).toBe('close');
    expect(closeDecision({ closeToTray: false, quitting: true, hintShown: true })).toBe('close');
  });

  it('shows the dashboard while a server runs, the status page otherwise', () => {
    expect(windowContent({ status: 'running', url: SERVER, address: '127.0.0.1:3000', port: 3000 })).toEqual({
      kind: 'dashboard',
      url: `${SERVER}/`,
    });
    for (const status of ['stopped', 'starting', 'stopping'] as const)
      expect(windowContent({ status })).toEqual({ kind: 'status' });
    expect(windowContent({ status: 'error', reason: 'port_taken', message: 'x' })).toEqual({ kind: 'status' });
  });

  it('reads origins', () => {
    expect(originOf(`${SERVER}/a/b?c`)).toBe(SERVER);
    expect(originOf('http://[::1]:3000/')).toBe('http://[::1]:3000');
    expect(originOf('data:text/html,x')).toBeNull();
    expect(originOf('::')).toBeNull();
  });

  it('hands out unpacked icon paths in a package and checkout paths in development', () => {
    expect(assetPath('/opt/Lookout/resources/app.asar', 'tray', 'tray-dark.png')).toBe(
      '/opt/Lookout/resources/app.asar.unpacked/build/tray/tray-dark.png',
    );
    expect(assetPath('/home/ada/lookout', 'icon.png')).toBe('/home/ada/lookout/build/icon.png');
  });
});

describe('the status page (shown while no server runs)', () => {
  const base: DesktopState = { server: { status: 'stopped' }, session: null, workspace: '/home/ada/rover' };
  const buttons = (html: string) =>
    [...html.matchAll(/<button[^>]*data-action="([^"]+)"[^>]*>([^<]*)<\/button>/g)].map((m) => `${m[1]}:${m[2]}`);

  it('"Server stopped" with a Start button that goes through the preload API', () => {
    const html = statusPageHtml(base);
    expect(html).toContain('<h1>Server stopped</h1>');
    expect(html).toContain('<code>/home/ada/rover</code>');
    expect(buttons(html)).toEqual(['start:Start server', 'choose:Choose another workspace…']);
    expect(html).toContain("if (action === 'start') await api.startServer();");
  });

  it('port taken: offers a free port first', () => {
    const html = statusPageHtml({
      ...base,
      server: { status: 'error', reason: 'port_taken', message: 'port 3000 is in use by another program' },
    });
    expect(html).toContain('The server could not start');
    expect(html).toContain('port 3000 is in use by another program');
    expect(buttons(html)).toEqual([
      'start-free-port:Start on a free port',
      'start:Try again',
      'choose:Choose another workspace…',
    ]);
  });

  it('no workspace: asks for one; starting: no buttons to double-click', () => {
    expect(buttons(statusPageHtml({ ...base, workspace: null }))).toEqual(['choose:Choose a workspace…']);
    expect(buttons(statusPageHtml({ ...base, server: { status: 'starting' } }))).toEqual([]);
  });

  it('escapes what it shows (a message or a folder name is data, not markup)', () => {
    const html = statusPageHtml({
      ...base,
      workspace: '/tmp/<img src=x onerror=alert(1)>',
      server: { status: 'error', reason: 'startup_failed', message: '<script>bad()</script>' },
    });
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>bad()');
    expect(html).toContain('&lt;script&gt;bad()&lt;/script&gt;');
  });

  it('allows exactly its own inline script and style by hash, nothing else', () => {
    const html = statusPageHtml(base);
    const script = html.match(/<script>([\s\S]*)<\/script>/)![1]!;
    const style = html.match(/<style>([\s\S]*)<\/style>/)![1]!;
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    expect(STATUS_PAGE_CSP).toContain(`script-src ${hash(script)}`);
    expect(STATUS_PAGE_CSP).toContain(`style-src ${hash(style)}`);
    expect(STATUS_PAGE_CSP).toContain("default-src 'none'");
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${STATUS_PAGE_CSP}">`);
  });

  it('is loaded as a base64 data: URL that round-trips', () => {
    const url = statusPageUrl(base);
    expect(url.startsWith('data:text/html;charset=utf-8;base64,')).toBe(true);
    expect(Buffer.from(url.split(',')[1]!, 'base64').toString()).toBe(statusPageHtml(base));
    expect(isTrustedSender({ url, isMainFrame: true }, null)).toBe(true);
  });
});
