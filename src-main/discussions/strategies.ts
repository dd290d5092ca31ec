import { MENTION_PATTERN, type DiscussionStrategy } from '../../src-shared/discussions.ts';

/**
 * Who speaks next: pure functions of the participants and the transcript's tail, so the
 * rules are tested without a server and a restart decides exactly as before it.
 */

export interface Speaker {
  agent_id: string;
  name: string;
}

export interface LastMessage {
  author: string;
  content: string;
  status: 'complete' | 'streaming' | 'failed';
  error: string | null;
}

export interface TurnInput {
  strategy: DiscussionStrategy;
  /** In speaking order. */
  participants: readonly Speaker[];
  moderator: string | null;
  /** The newest message, if any. */
  last: LastMessage | undefined;
  /** Agents that spoke, newest first (one entry per message), for round robin. */
  recentAgents: readonly string[];
}

export interface TurnChoice {
  agent_id: string;
  /** Why: the rule that chose it, or a fallback and its cause (shown in turn_assigned and logged). */
  reason: string;
  /** Set when the strategy could not apply its own rule and fell back to round robin. */
  fallback?: string;
}

/** Failures that were not the speaker's doing: its turn is given back to it. */
export const INTERRUPTIONS = ['paused', 'server_restarted'] as const;

/** A name as people type it after @: case, spaces, "_" and "-" do not matter. */
const normalize = (name: string): string => name.toLowerCase().replace(/[\s_-]+/g, '');

/** The participants an @mention names, in the order they appear (an id or a name). */
export function mentioned(content: string, participants: readonly Speaker[]): Speaker[] {
  const found: Speaker[] = [];
  for (const match of content.matchAll(MENTION_PATTERN)) {
    // A trailing "." or "," ends a sentence, not a name.
    const token = normalize(match[1]!.replace(/[._-]+$/, ''));
    const who = participants.find((p) => p.agent_id.toLowerCase() === token || normalize(p.name) === token);
    if (who && !found.includes(who)) found.push(who);
  }
  return found;
}

/** The next in speaking order after `after` (the first when nobody spoke yet), skipping `skip`. */
export function roundRobin(participants: readonly Speaker[], after: string | undefined, skip?: string): Speaker {
  const pool =
    skip === undefined || participants.length === 1 ? participants : participants.filter((p) => p.agent_id !== skip);
  const start = after === undefined ? -1 : participants.findIndex((p) => p.agent_id === after);
  for (let step = 1; step <= participants.length; step++) {
    const candidate = participants[(start + step + participants.length) % participants.length]!;
    if (pool.includes(candidate)) return candidate;
  }
  return pool[0]!;
}

/**
 * The participant a moderator's reply names. It is asked to end with `NEXT: <name>`; a
 * model may not, so an @mention, then a bare name on the reply's last line, also count.
 */
export function moderatorChoice(
  content: string,
  participants: readonly Speaker[],
  moderator: string,
): Speaker | undefined {
  const others = participants.filter((p) => p.agent_id !== moderator);
  const byToken = (token: string): Speaker | undefined => {
    const key = normalize(token.replace(/^[@*"'`]+|[*"'`.!,;:]+$/g, ''));
    return others.find((p) => p.agent_id.toLowerCase() === key || normalize(p.name) === key);
  };
  const lines = content.split(/\r?\n/);
  for (const line of [...lines].reverse()) {
    const next = /^\W*next(?:\s+speaker)?\s*[:=\-–]\s*(.+?)\s*$/i.exec(line);
    if (next) {
      const who = byToken(next[1]!) ?? mentioned(next[1]!, others)[0];
      if (who) return who;
    }
  }
  const mentions = mentioned(content, others);
  if (mentions.length > 0) return mentions.at(-1);
  const lastLine =
    lines
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1) ?? '';
  return byToken(lastLine);
}

export function chooseNext(input: TurnInput): TurnChoice {
  const { participants, last } = input;
  const lastAgent = input.recentAgents[0];
  // An interrupted reply (pause, restart) was not its author's fault: it speaks again.
  if (
    last?.status === 'failed' &&
    (INTERRUPTIONS as readonly (string | null)[]).includes(last.error) &&
    participants.some((p) => p.agent_id === last.author)
  ) {
    return { agent_id: last.author, reason: `retrying the turn interrupted by ${last.error}` };
  }

  if (input.strategy === 'mention' && last !== undefined && last.status === 'complete') {
    const named = mentioned(last.content, participants).find((p) => p.agent_id !== last.author);
    if (named) return { agent_id: named.agent_id, reason: `mentioned as @${named.name}` };
  }

  if (input.strategy === 'moderated') {
    const moderator = input.moderator ?? participants[0]!.agent_id;
    if (participants.length === 1) return { agent_id: moderator, reason: 'the moderator is the only participant' };
    if (last === undefined || last.author !== moderator)
      return { agent_id: moderator, reason: 'the moderator decides who speaks next' };
    const named = last.status === 'complete' ? moderatorChoice(last.content, participants, moderator) : undefined;
    if (named) return { agent_id: named.agent_id, reason: 'named by the moderator' };
    const why =
      last.status === 'complete'
        ? 'the moderator named no participant'
        : `the moderator's reply failed (${last.error ?? 'no reason'})`;
    const lastOther = input.recentAgents.find((agent) => agent !== moderator);
    const next = roundRobin(participants, lastOther, moderator);
    return { agent_id: next.agent_id, reason: `round robin: ${why}`, fallback: why };
  }

  const next = roundRobin(participants, lastAgent);
  return {
    agent_id: next.agent_id,
    reason: input.strategy === 'mention' ? 'round robin (nobody mentioned)' : 'round robin',
  };
}
