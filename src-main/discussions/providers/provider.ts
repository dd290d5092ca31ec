import type { Agent } from '../../../src-shared/agents.ts';
import type { CommandAgentInput } from '../../../src-shared/discussions.ts';

/**
 * One interface for every way an agent speaks: the service hands a provider the prompt
 * and a sink for text as it arrives, and gets back how the reply ended. Stopping is the
 * signal's job (pause, truncation, server stop): its `reason` is the failure recorded.
 */
export interface SpeakRequest {
  agent: Agent;
  /** The discussion as the agent is shown it (a command reads exactly this on stdin). */
  input: CommandAgentInput;
  /** Text as it arrives, in order. */
  onText: (text: string) => void;
  signal: AbortSignal;
  timeoutMs: number;
}

export type SpeakOutcome = { ok: true } | { ok: false; error: string };

export interface SpeakerProvider {
  speak(request: SpeakRequest): Promise<SpeakOutcome>;
}

/** Why a reply was stopped, as the signal carries it (a string set by whoever aborted). */
export const abortReason = (signal: AbortSignal): string =>
  typeof signal.reason === 'string' ? signal.reason : 'cancelled';

export const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
