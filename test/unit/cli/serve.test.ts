import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildProgram } from '../../../src-main/cli/main.ts';
import { serveConfig } from '../../../src-main/cli/serve.ts';
import { type Config, SETTINGS, type SettingName } from '../../../src-main/config.ts';

/**
 * A value for every setting that differs from its default, as text (what a flag or a
 * variable carries) and as the configuration should hold it. Derived from the schema in
 * the settings table, so a setting added tomorrow is covered without touching this test;
 * only free-form strings need a hand-picked value (the table cannot say what a host is),
 * and lists of anything but URLs.
 */
const STRING_SAMPLES: Partial<Record<SettingName, [string, unknown]>> = {
  workspace: ['/tmp/lookout-settings-ws', path.resolve('/tmp/lookout-settings-ws')],
  host: ['127.0.0.2', '127.0.0.2'],
  trustedProxies: ['172.28.0.10,10.0.0.0/8', ['172.28.0.10', '10.0.0.0/8']],
  databaseUrl: [
    'postgres://lookout:secret@db.example:5432/lookout',
    'postgres://lookout:secret@db.example:5432/lookout',
  ],
};

function sample(name: SettingName): [text: string, expected: unknown] {
  const known = STRING_SAMPLES[name];
  if (known) return known;
  const setting = SETTINGS[name] as { schema: z.ZodType; default: unknown };
  const schema = setting.schema;
  if (schema instanceof z.ZodNumber) {
    const min = Number.isFinite(schema.minValue) ? schema.minValue! : 0;
    // Just above the minimum, skipping the default; a fraction where fractions are allowed.
    let value = schema.isInt ? min + 1 : min + 1.5;
    if (value === setting.default) value += 1;
    return [String(value), value];
  }
  if (schema instanceof z.ZodBoolean) return [setting.default ? 'false' : 'true', !setting.default];
  if (schema instanceof z.ZodEnum) {
    const option = (schema.options as string[]).find((o) => o !== setting.default)!;
    return [option, option];
  }
  if (schema instanceof z.ZodArray) return ['http://a.test:1,http://b.test:2', ['http://a.test:1', 'http://b.test:2']];
  throw new Error(`no sample value for setting ${name}: add one to STRING_SAMPLES`);
}

const NAMES = Object.keys(SETTINGS) as SettingName[];
const SAMPLES = Object.fromEntries(NAMES.map((name) => [name, sample(name)])) as Record<SettingName, [string, unknown]>;

/** Parses `lookout serve ARGV…` with the real command-line program, stopping before the server starts. */
async function serveWith(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Config> {
  const program = buildProgram();
  const serve = program.commands.find((command) => command.name() === 'serve')!;
  let config: Config | undefined;
  serve.action((options: Record<string, string | boolean | undefined>, cmd: typeof serve) => {
    config = serveConfig(options, cmd.optsWithGlobals<{ workspace?: string }>().workspace, env);
  });
  await program.parseAsync(['serve', ...argv], { from: 'user' });
  return config!;
}

describe('every setting of lookout serve', () => {
  it('has a sample that differs from its default', () => {
    for (const name of NAMES) expect(SAMPLES[name][1], name).not.toEqual(SETTINGS[name].default);
  });

  it('is read back from its flag', async () => {
    const argv = NAMES.flatMap((name) => {
      const setting = SETTINGS[name];
      return setting.schema instanceof z.ZodBoolean ? [setting.flag] : [setting.flag, SAMPLES[name][0]];
    });
    const config = await serveWith(argv);
    for (const name of NAMES) expect(config[name], `${SETTINGS[name].flag}`).toEqual(SAMPLES[name][1]);
  });

  it('is read back from its LOOKOUT_* variable', async () => {
    const env = Object.fromEntries(NAMES.map((name) => [SETTINGS[name].env, SAMPLES[name][0]]));
    const config = await serveWith([], env);
    for (const name of NAMES) expect(config[name], SETTINGS[name].env).toEqual(SAMPLES[name][1]);
  });

  it('refuses a bad value of every numeric flag, naming the flag', async () => {
    for (const name of NAMES.filter((n) => SETTINGS[n].schema instanceof z.ZodNumber)) {
      await expect(serveWith([SETTINGS[name].flag, 'abc']), name).rejects.toThrow(SETTINGS[name].flag);
    }
  });
});
