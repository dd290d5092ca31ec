import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const configFile = path.join(root, 'electron-builder.yml');
/** The same parser electron-builder uses for its YAML config. */
const config = load(fs.readFileSync(configFile, 'utf8'), { filename: configFile }) as Record<string, unknown> & {
  files: string[];
  asarUnpack: string[];
  directories: { output: string; buildResources: string };
  electronFuses: Record<string, boolean>;
  linux: { target: string[]; icon: string };
  mac: { target: string[]; icon: string };
  win: { target: string[]; icon: string };
};
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

describe('electron-builder.yml', () => {
  it("validates against electron-builder's own JSON schema (app-builder-lib/scheme.json)", () => {
    const schema = JSON.parse(
      fs.readFileSync(path.join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8'),
    ) as Record<string, unknown>;
    // The schema uses a few annotations Ajv's strict mode does not know; they carry no rules.
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const valid = validate(config);
    expect(validate.errors ?? [], ajv.errorsText(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is accepted by electron-builder itself (its loader and validator, as `npm run dist` runs them)', async () => {
    const loaded = await getConfig(root, null, null);
    expect(loaded.appId).toBe('dev.lookout.desktop');
    const debugLogger = { isEnabled: false, add: () => undefined } as unknown as Parameters<
      typeof validateConfiguration
    >[1];
    await expect(validateConfiguration(loaded, debugLogger)).resolves.toBeUndefined();
  });

  it('a wrong option is caught by the same check (the test can fail)', () => {
    const schema = JSON.parse(
      fs.readFileSync(path.join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8'),
    ) as Record<string, unknown>;
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate({ ...config, electronFuses: { ...config.electronFuses, runAsNodes: false } })).toBe(false);
    expect(validate({ ...config, linux: { ...config.linux, target: 'AppImage', sandbox: true } })).toBe(false);
  });

  it('names the app and builds AppImage + deb, dmg and nsis', () => {
    expect(config.appId).toBe('dev.lookout.desktop');
    expect(config.productName).toBe('Lookout');
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
  });

  it('sets the Electron fuses: no RunAsNode, encrypted cookies, asar integrity, app only from asar', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
    });
  });

  it('keeps installers out of dist/ (which is packaged) and packages what the app runs', () => {
    expect(config.directories.output).not.toMatch(/^dist\b/);
    expect(config.files).toEqual(
      expect.arrayContaining(['package.json', 'bin/**', 'dist/desktop/**', 'dist/renderer/**', 'build/tray/**']),
    );
    // package.json "main" must be inside what is packaged.
    // (test/desktop/desktop-bundle.test.ts runs that entry and what it loads.)
    expect(packageJson.main).toBe('dist/desktop/main.js');
    expect(config.files).toContain('dist/desktop/**');
    expect(packageJson.scripts.dist).toMatch(/npm run build .*electron-builder$/);
  });

  it('points at icon files that exist, including every tray variant the app asks for', () => {
    for (const platform of [config.linux, config.mac, config.win])
      expect(fs.existsSync(path.join(root, platform.icon)), platform.icon).toBe(true);
    const png = fs.readFileSync(path.join(root, 'build/icon.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512]);
    for (const name of [
      'tray-light',
      'tray-dark',
      'tray-light-idle',
      'tray-dark-idle',
      'trayTemplate',
      'trayIdleTemplate',
    ]) {
      for (const suffix of ['', '@2x'])
        expect(fs.existsSync(path.join(root, 'build/tray', `${name}${suffix}.png`)), `${name}${suffix}`).toBe(true);
    }
    for (const pattern of config.asarUnpack) expect(config.files).toContain(pattern);
  });
});
