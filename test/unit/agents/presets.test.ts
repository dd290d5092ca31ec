import { describe, expect, it } from 'vitest';
import { findProgram, listPresets, PRESETS } from '../../../src-main/agents/presets.ts';

describe('agent presets and program lookup', () => {
  it('finds programs on PATH, by absolute path, and says why not', () => {
    expect(findProgram('node', process.env.PATH)).toMatchObject({ found: true });
    expect(findProgram(process.execPath)).toEqual({ found: true, file: process.execPath });
    expect(findProgram('no-such-program-h13', '/usr/bin:/bin')).toEqual({
      found: false,
      reason: 'no-such-program-h13 is not on PATH; install it or give its absolute path in command[0]',
    });
    expect(findProgram('/etc/passwd')).toMatchObject({ found: false }); // not executable
    expect(findProgram('sh', 'relative/dir')).toMatchObject({ found: false }); // relative PATH entries are skipped
  });

  it('lists every preset with whether its program is here', () => {
    const presets = listPresets('/nonexistent');
    expect(presets.map((p) => p.id)).toEqual(['claude-code', 'codex', 'aider', 'gemini-cli']);
    for (const preset of presets)
      expect(preset).toMatchObject({ available: false, reason: expect.stringMatching(/not on PATH/) });
  });

  it('never lets a prompt become a flag: it follows -- or is glued to its option', () => {
    for (const preset of PRESETS) {
      const at = preset.command.findIndex((arg) => arg.includes('{prompt}'));
      const arg = preset.command[at]!;
      const glued = /^--[a-z-]+=\{prompt\}$/.test(arg);
      expect(glued || (arg === '{prompt}' && preset.command[at - 1] === '--'), preset.id).toBe(true);
    }
  });
});
