import { describe, expect, it } from 'vitest';
import { forTerminal, jsonForTerminal } from '../../src-main/cli/terminal-text.ts';
import { readHolder } from '../../src-main/session/lock.ts';
import { workspacePaths } from '../../src-main/workspace.ts';
import { runLookout, spawnLookout } from '../helpers/cli.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

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
    await runtime.bus.publish([HOSTILE]);
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
    await runtime.bus.publish([HOSTILE]);
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

  it('`lookout run` quotes another holder’s command without its control characters', async () => {
    const workspace = tempWorkspace();
    const holder = spawnLookout([
      'run',
      '--workspace',
      workspace,
      '--',
      process.execPath,
      '-e',
      'setInterval(() => {}, 1000)',
      '\u001b]52;c;ZXZpbA==\u0007',
    ]);
    const paths = workspacePaths(workspace);
    const deadline = Date.now() + 10_000;
    while (readHolder(paths)?.command_pgid === undefined && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 25));
    const second = await runLookout(['run', '--workspace', workspace, '--', 'true']);
    holder.child.kill('SIGTERM');
    expect(second.code).toBe(3);
    expect(second.stderr).toContain('\\x1b]52;c;ZXZpbA==\\x07');
    expect(second.stderr).not.toMatch(RAW_CONTROL);
  });

  it('forTerminal and jsonForTerminal leave ordinary text alone', () => {
    expect(forTerminal('héllo — wörld 🚀 [a] #1')).toBe('héllo — wörld 🚀 [a] #1');
    expect(jsonForTerminal({ a: 'é🚀' })).toBe('{"a":"é🚀"}');
  });
});
