/**
 * Claude Code's hook input (one JSON object on stdin per hook, documented in Claude
 * Code's hooks reference: the common fields session_id, transcript_path, cwd,
 * permission_mode, hook_event_name, then each event's own) mapped to catalogued events.
 * An event Claude Code adds later is kept as `x.claude-code.<EventName>` rather than lost.
 *
 * This runs inside the hook command, which must be quick: it imports nothing (the server
 * validates what it receives against the catalogue anyway).
 */

export const AGENT = 'claude-code';

export interface HookEvent {
  type: string;
  data: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/** Tool inputs and outputs can be whole files: past this many bytes of JSON only a preview is kept. */
export const MAX_TOOL_PAYLOAD_BYTES = 16 * 1024;
const MAX_TEXT = 32 * 1024;

const str = (value: unknown, max = 4096): string | undefined =>
  typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined;

/** Keeps a tool's input or output as sent when small, else a marked preview of its JSON. */
export function boundPayload(value: unknown): unknown {
  if (value === undefined) return undefined;
  const json = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(json) <= MAX_TOOL_PAYLOAD_BYTES) return value;
  return { truncated: true, bytes: Buffer.byteLength(json), preview: json.slice(0, MAX_TOOL_PAYLOAD_BYTES / 4) };
}

const compact = (data: Json): Json => Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));

/** The error text of a failed tool: Claude Code sends `error`, or a tool_response saying so. */
function toolError(input: Json): string | undefined {
  if (typeof input.error === 'string') return input.error.slice(0, 16_384);
  const response = input.tool_response;
  if (response && typeof response === 'object' && typeof (response as Json).error === 'string') {
    return ((response as Json).error as string).slice(0, 16_384);
  }
  return undefined;
}

/** Maps one hook input; undefined when it is not a Claude Code hook input at all. */
export function claudeHookEvent(input: unknown): HookEvent | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const hook = input as Json;
  const name = str(hook.hook_event_name, 64);
  if (name === undefined) return undefined;
  const common = compact({
    session_id: str(hook.session_id, 256),
    agent: AGENT,
    cwd: str(hook.cwd),
    transcript_path: str(hook.transcript_path),
  });
  const tool = () =>
    compact({
      ...common,
      tool_name: str(hook.tool_name, 256) ?? 'unknown',
      tool_use_id: str(hook.tool_use_id, 256),
      input: boundPayload(hook.tool_input),
    });

  switch (name) {
    case 'SessionStart':
      return {
        type: 'agent_session.started',
        data: compact({ ...common, source: str(hook.source, 256), model: str(hook.model, 256) }),
      };
    case 'SessionEnd':
      return { type: 'agent_session.ended', data: compact({ ...common, reason: str(hook.reason, 256) }) };
    case 'UserPromptSubmit':
      return {
        type: 'chat.message_sent',
        data: compact({ ...common, conversation_id: common.session_id, text: str(hook.prompt, MAX_TEXT) ?? '' }),
      };
    case 'PreToolUse':
      return { type: 'tool.call_started', data: tool() };
    case 'PostToolUse': {
      const error = toolError(hook);
      // A tool that reports an error in its response failed, whatever hook carried it.
      if (error !== undefined) return { type: 'tool.call_failed', data: { ...tool(), error } };
      return { type: 'tool.call_finished', data: compact({ ...tool(), output: boundPayload(hook.tool_response) }) };
    }
    case 'PostToolUseFailure':
      return { type: 'tool.call_failed', data: { ...tool(), error: toolError(hook) ?? 'the tool failed' } };
    case 'Notification':
      return {
        type: 'agent_session.notification',
        data: compact({
          ...common,
          message: str(hook.message, MAX_TEXT) ?? '',
          notification_type: str(hook.notification_type, 256),
        }),
      };
    case 'Stop':
      return { type: 'agent_session.stopped', data: { ...common, subagent: false } };
    case 'SubagentStop':
      return {
        type: 'agent_session.stopped',
        data: compact({
          ...common,
          subagent: true,
          agent_id: str(hook.agent_id, 256),
          agent_type: str(hook.agent_type, 256),
        }),
      };
    case 'PreCompact':
      return { type: 'agent_session.compacting', data: compact({ ...common, trigger: str(hook.trigger, 256) }) };
    default: {
      // A hook Claude Code added after this version: kept whole (bounded) in the open namespace.
      const safe = name.replace(/[^A-Za-z0-9_-]/g, '_');
      const { session_id: _s, cwd: _c, transcript_path: _t, hook_event_name: _h, ...rest } = hook;
      return { type: `x.${AGENT}.${safe}`, data: compact({ ...common, payload: boundPayload(rest) }) };
    }
  }
}

/** The hook events `lookout hooks install claude-code` registers (all that carry something to show). */
export const CLAUDE_HOOK_EVENTS = [
  'SessionStart',
  'SessionEnd',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'PostToolUseFailure',
  'Notification',
  'Stop',
  'SubagentStop',
  'PreCompact',
] as const;
