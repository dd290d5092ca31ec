import { describe, expect, it } from 'vitest';
import { forTerminal, jsonForTerminal } from '../../src-main/cli/terminal-text.ts';
import { spawnLookout } from '../helpers/cli.ts';
import { startRuntime } from '../helpers/runtime.ts';

const HOSTILE = {
  type: 'x.hostile',
  data: {
    text: 'clip\u001b]52;c;ZWNobyBwd25lZA==\u0007 red\u001b[31m csi\u009b31m bidi\u202e',
  },
  metadata: { agent: 'bot\n#999 00:00:00 system.started [root]  forged line\r' },
};

// A terminal acts on these; none may reach stdout raw.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u;

describe('lookout tail prints nothing a terminal would act on', () => {
  it('escapes ESC, OSC 52, C1 and newlines in metadata, in text output', async () => {
    const runtime = await startRuntime();
    runtime.bus.publish([HOSTILE]);
    const tail = spawnLookout(['tail', '--since', '0', '--types', 'x.*', '--workspace', runtime.config.workspace]);
    await tail.waitFor(/x\.hostile.*\n/);
    const output = tail.stdout();
    expect(output).not.toMatch(RAW_CONTROL);
    expect(output.split('\n').filter((line) => line.includes('forged line'))).toHaveLength(1);
    expect(output).not.toMatch(/^#999/m);
    expect(output).toContain('csi\\x9b31m');
    expect(output).toContain('[bot\\x0a#999');
  });

  it('escapes C1 and bidi characters in --json output (still valid JSON, same values)', async () => {
    const runtime = await startRuntime();
    runtime.bus.publish([HOSTILE]);
    const tail = spawnLookout([
      'tail',
      '--json',
      '--since',
      '0',
      '--types',
      'x.*',
      '--workspace',
      runtime.config.workspace,
    ]);
    await tail.waitFor(/x\.hostile.*\n/);
    const line = tail
      .stdout()
      .split('\n')
      .find((l) => l.includes('x.hostile'))!;
    expect(line).not.toMatch(RAW_CONTROL);
    const parsed = JSON.parse(line) as { data: { text: string }; metadata: { agent: string } };
    expect(parsed.data.text).toBe(HOSTILE.data.text);
    expect(parsed.metadata.agent).toBe(HOSTILE.metadata.agent);
  });

  it('forTerminal and jsonForTerminal leave ordinary text alone', () => {
    expect(forTerminal('héllo — wörld 🚀 [a] #1')).toBe('héllo — wörld 🚀 [a] #1');
    expect(jsonForTerminal({ a: 'é🚀' })).toBe('{"a":"é🚀"}');
  });
});
