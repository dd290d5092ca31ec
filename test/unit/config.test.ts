import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, SETTINGS } from '../../src-main/config.ts';
import { StartupError } from '../../src-main/errors.ts';

describe('config', () => {
  it('uses defaults when nothing is set', () => {
    const config = loadConfig({ env: {}, cwd: '/tmp' });
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      workspace: '/tmp',
      logLevel: 'info',
      shutdownTimeoutMs: 5000,
    });
  });

  it('takes LOOKOUT_* variables over defaults and flags over variables', () => {
    const env = { LOOKOUT_PORT: '4100', LOOKOUT_LOG_LEVEL: 'debug', LOOKOUT_WORKSPACE: 'ws' };
    expect(loadConfig({ env, cwd: '/tmp' })).toMatchObject({
      port: 4100,
      logLevel: 'debug',
      workspace: path.resolve('ws'),
    });
    expect(loadConfig({ env, flags: { port: '4200' }, cwd: '/tmp' })).toMatchObject({ port: 4200, logLevel: 'debug' });
  });

  it('parses lists and booleans from text', () => {
    const config = loadConfig({
      env: { LOOKOUT_CORS_ORIGINS: 'http://localhost:5173, http://127.0.0.1:5173', LOOKOUT_ALLOW_REMOTE: 'yes' },
      cwd: '/',
    });
    expect(config.corsOrigins).toEqual(['http://localhost:5173', 'http://127.0.0.1:5173']);
    expect(config.allowRemote).toBe(true);
  });

  it.each([
    [
      { LOOKOUT_PORT: 'abc' },
      /invalid setting port \(--port \/ LOOKOUT_PORT\): .*expected number, received string; got "abc"/,
    ],
    [{ LOOKOUT_PORT: '70000' }, /invalid setting port.*70000/],
    [{ LOOKOUT_PORT: '' }, /invalid setting port/],
    [{ LOOKOUT_LOG_LEVEL: 'loud' }, /invalid setting logLevel \(--log-level \/ LOOKOUT_LOG_LEVEL\)/],
    [{ LOOKOUT_SHUTDOWN_TIMEOUT_MS: '-1' }, /invalid setting shutdownTimeoutMs/],
    [{ LOOKOUT_ALLOW_REMOTE: 'maybe' }, /invalid setting allowRemote/],
    [{ LOOKOUT_CORS_ORIGINS: 'not a url' }, /invalid setting corsOrigins/],
    [
      { LOOKOUT_TRUSTED_PROXIES: '172.28.0.10,caddy' },
      /invalid setting trustedProxies \(--trusted-proxies \/ LOOKOUT_TRUSTED_PROXIES\): expected IP addresses or CIDR/,
    ],
    [{ LOOKOUT_TRUSTED_PROXIES: '10.0.0.0/33' }, /invalid setting trustedProxies/],
    [{ LOOKOUT_TRUSTED_PROXIES: '10.0.0.0/8/1' }, /invalid setting trustedProxies/],
  ])('rejects %o with exit code 2 and the setting named', (env, message) => {
    let caught: unknown;
    try {
      loadConfig({ env, cwd: '/tmp' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StartupError);
    expect((caught as StartupError).exitCode).toBe(2);
    expect((caught as StartupError).message).toMatch(message);
  });

  it('takes trusted proxies as addresses and CIDR ranges, IPv4 and IPv6', () => {
    const config = loadConfig({ env: { LOOKOUT_TRUSTED_PROXIES: '172.28.0.10, 10.0.0.0/8,fd00::/64' }, cwd: '/tmp' });
    expect(config.trustedProxies).toEqual(['172.28.0.10', '10.0.0.0/8', 'fd00::/64']);
  });

  it('refuses a non-loopback host unless explicitly allowed', () => {
    expect(() => parseConfig({ workspace: '/tmp', host: '0.0.0.0' })).toThrow(
      /refusing to bind non-loopback host 0\.0\.0\.0.*--allow-remote/,
    );
    expect(parseConfig({ workspace: '/tmp', host: '0.0.0.0', allowRemote: true }).host).toBe('0.0.0.0');
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.1.2.3'])
      expect(parseConfig({ workspace: '/tmp', host }).host).toBe(host);
  });

  it('is documented: every setting has a row in the README with its flag and variable', () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    for (const setting of Object.values(SETTINGS)) {
      const row = readme.split('\n').find((line) => line.includes(`\`${setting.env}\``));
      expect(row, setting.env).toBeDefined();
      expect(row).toContain(`\`${setting.flag}\``);
    }
  });
});
