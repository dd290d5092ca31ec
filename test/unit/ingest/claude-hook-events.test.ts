import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateEventInput } from '../../../src-shared/events.ts';
import { boundPayload, claudeHookEvent, MAX_TOOL_PAYLOAD_BYTES } from '../../../src-main/ingest/claude-hook-events.ts';

interface Case {
  name: string;
  input: Record<string, unknown>;
  expect: { type: string; data: Record<string, unknown> };
}

const CLAUDE_HOOK_CASES = (
  JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '../../fixtures/claude-code-hooks.json'), 'utf8')) as {
    cases: Case[];
  }
).cases;

describe('Claude Code hook inputs → catalogued events', () => {
  it.each(CLAUDE_HOOK_CASES)('$name', ({ input, expect: expected }) => {
    const event = claudeHookEvent(input);
    expect(event).toMatchObject(expected);
    // Whatever the mapping makes, the server's catalogue accepts.
    const checked = validateEventInput(event);
    expect(checked.ok ? [] : checked.issues).toEqual([]);
  });

  it('ignores what is not a hook input', () => {
    for (const input of [null, [], 'PreToolUse', 42, {}, { hook_event_name: 3 }]) {
      expect(claudeHookEvent(input)).toBeUndefined();
    }
  });

  it('keeps a huge tool output as a marked preview, so the event stays within 64 KiB', () => {
    const content = 'x'.repeat(500_000);
    const event = claudeHookEvent({
      session_id: 's',
      hook_event_name: 'PostToolUse',
      tool_name: 'Read',
      tool_input: { file_path: '/big.txt' },
      tool_response: { content },
    })!;
    expect(event.data.output).toMatchObject({ truncated: true, bytes: Buffer.byteLength(JSON.stringify({ content })) });
    expect(JSON.stringify(event).length).toBeLessThan(64 * 1024);
    expect(validateEventInput(event).ok).toBe(true);
    expect(boundPayload({ small: true })).toEqual({ small: true });
    expect(JSON.stringify(boundPayload('y'.repeat(MAX_TOOL_PAYLOAD_BYTES * 2))).length).toBeLessThan(
      MAX_TOOL_PAYLOAD_BYTES,
    );
  });

  it('reports a PostToolUse whose response carries an error as a failed call', () => {
    const event = claudeHookEvent({
      session_id: 's',
      hook_event_name: 'PostToolUse',
      tool_name: 'WebFetch',
      tool_response: { error: 'HTTP 404' },
    });
    expect(event).toMatchObject({ type: 'tool.call_failed', data: { tool_name: 'WebFetch', error: 'HTTP 404' } });
  });
});
