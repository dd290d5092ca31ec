import type { AgentModel } from '../../../src-shared/agents.ts';
import type { CommandAgentInput } from '../../../src-shared/discussions.ts';
import { abortReason, seconds, type SpeakOutcome, type SpeakRequest, type SpeakerProvider } from './provider.ts';

/** Attempts in all for one reply when the server answers 429 or 5xx (or cannot be reached) before any text. */
export const MAX_ATTEMPTS = 4;
const BASE_DELAY_MS = 500;
/** The longest wait honoured from a Retry-After (a server asking for minutes is, for a live discussion, down). */
const MAX_DELAY_MS = 30_000;
/** How much of an error body is quoted in the failure. */
const ERROR_BODY_CHARS = 300;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ModelProviderOptions {
  /** Where the key's variable is read (the server's environment; tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Backoff base (tests shorten it). */
  baseDelayMs?: number;
  onRetry?: (info: { agent_id: string; attempt: number; status: number | string; delay_ms: number }) => void;
}

/** Waits `ms`, or less if the signal fires. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+(?:\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The conversation as chat messages: a system message (who the agent is, the topic, the
 * knowledge it may cite), then the transcript — its own turns as `assistant`, everyone
 * else's as `user` prefixed with the speaker's name — ending with a cue to speak.
 * Consecutive `user` turns are merged: several local servers' chat templates insist on
 * alternating roles.
 */
export function chatMessages(input: CommandAgentInput, model: AgentModel): ChatMessage[] {
  const { discussion, you, knowledge } = input;
  const others = discussion.participants.filter((p) => p.id !== you.id).map((p) => p.name);
  const system = [
    model.system ?? `You are ${you.name} (${you.role}), taking part in a discussion.`,
    `Topic: ${discussion.topic}`,
    discussion.context ? `Context:\n${discussion.context}` : '',
    others.length > 0 ? `Other participants: ${others.join(', ')}. Address one with @name.` : '',
    you.moderator
      ? `You moderate: steer the discussion, then end your reply with a line "NEXT: <name>" naming who speaks next (one of: ${others.join(', ')}).`
      : '',
    knowledge.length > 0
      ? `Knowledge you may use (cite as [n]):\n${knowledge.map((k, i) => `[${i + 1}] ${k.title}\n${k.text}`).join('\n\n')}`
      : '',
    'Reply with your own contribution only, without a name prefix.',
  ]
    .filter(Boolean)
    .join('\n\n');
  const messages: ChatMessage[] = [{ role: 'system', content: system }];
  const push = (role: 'user' | 'assistant', content: string) => {
    const last = messages.at(-1)!;
    if (role === 'user' && last.role === 'user') last.content += `\n\n${content}`;
    else messages.push({ role, content });
  };
  for (const message of input.messages) {
    if (message.author === you.id) push('assistant', message.content);
    else push('user', `${message.author_name}: ${message.content}`);
  }
  push('user', `(turn ${discussion.turn}) It is your turn, ${you.name}.`);
  return messages;
}

/** What a failed response says about itself: an OpenAI-style `error.message`, or the start of the body. */
async function errorText(response: Response): Promise<string> {
  const body = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message =
      typeof parsed.error === 'string'
        ? parsed.error
        : typeof parsed.error?.message === 'string'
          ? parsed.error.message
          : typeof parsed.message === 'string'
            ? parsed.message
            : undefined;
    if (message) return message.slice(0, ERROR_BODY_CHARS);
  } catch {
    // not JSON: quote it as text
  }
  return body.replace(/\s+/g, ' ').trim().slice(0, ERROR_BODY_CHARS);
}

const retryable = (status: number): boolean => status === 429 || status >= 500;

/**
 * A `model` agent: POST {base_url}/chat/completions with `stream: true`, read the
 * server-sent events (`data: {json}` lines, `data: [DONE]`), pass each
 * `choices[0].delta.content` on. 429 and 5xx (and a refused connection) before any text
 * are retried with exponential back-off, honouring Retry-After, at most MAX_ATTEMPTS times;
 * anything else fails the reply with the server's own words. The key is read from the
 * variable the agent names at the moment of the request and goes nowhere but the
 * Authorization header.
 */
export class ModelProvider implements SpeakerProvider {
  #env: NodeJS.ProcessEnv;
  #baseDelayMs: number;
  #onRetry: ModelProviderOptions['onRetry'];

  constructor(options: ModelProviderOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#baseDelayMs = options.baseDelayMs ?? BASE_DELAY_MS;
    this.#onRetry = options.onRetry;
  }

  async speak({ agent, input, onText, signal, timeoutMs }: SpeakRequest): Promise<SpeakOutcome> {
    const model = agent.model;
    if (model === null) return { ok: false, error: 'the agent has no model' };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (model.api_key_env !== undefined) {
      const key = this.#env[model.api_key_env];
      if (key === undefined || key === '')
        return {
          ok: false,
          error: `the environment variable ${model.api_key_env} (model.api_key_env) is not set in the server's environment`,
        };
      headers.authorization = `Bearer ${key}`;
    }
    const url = `${model.base_url.replace(/\/+$/, '')}/chat/completions`;
    const body = JSON.stringify({
      model: model.model,
      messages: chatMessages(input, model),
      stream: true,
      ...(model.temperature === undefined ? {} : { temperature: model.temperature }),
      ...(model.max_tokens === undefined ? {} : { max_tokens: model.max_tokens }),
    });

    // One controller for the whole reply: a pause (the caller's signal) or the timeout aborts the request.
    const controller = new AbortController();
    const onAbort = () => controller.abort(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(`timed out after ${seconds(timeoutMs)}`), timeoutMs);
    try {
      if (signal.aborted) return { ok: false, error: abortReason(signal) };
      return await this.#attempts(agent.id, url, headers, body, controller.signal, onText);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async #attempts(
    agentId: string,
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<SpeakOutcome> {
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        // Never follow a redirect: the Authorization header must reach only the host named.
        response = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'error' });
      } catch (error) {
        if (signal.aborted) return { ok: false, error: abortReason(signal) };
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (error as Error).message;
        if (attempt < MAX_ATTEMPTS && (cause?.code === 'ECONNREFUSED' || cause?.code === 'ECONNRESET')) {
          await this.#wait(agentId, attempt, why, undefined, signal);
          if (signal.aborted) return { ok: false, error: abortReason(signal) };
          continue;
        }
        return { ok: false, error: `cannot reach ${url}: ${why}` };
      }
      if (!response.ok) {
        const text = await errorText(response);
        if (retryable(response.status) && attempt < MAX_ATTEMPTS) {
          await this.#wait(
            agentId,
            attempt,
            response.status,
            retryAfterMs(response.headers.get('retry-after')),
            signal,
          );
          if (signal.aborted) return { ok: false, error: abortReason(signal) };
          continue;
        }
        const tries = retryable(response.status) ? ` after ${attempt} attempts` : '';
        return { ok: false, error: `HTTP ${response.status}${tries} from ${url}${text ? `: ${text}` : ''}` };
      }
      return this.#read(response, signal, onText);
    }
  }

  async #wait(
    agentId: string,
    attempt: number,
    status: number | string,
    retryAfter: number | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    // Full jitter on the exponential step, unless the server said when.
    const exponential = this.#baseDelayMs * 2 ** (attempt - 1);
    const delay = Math.min(MAX_DELAY_MS, retryAfter ?? exponential / 2 + Math.random() * (exponential / 2));
    this.#onRetry?.({ agent_id: agentId, attempt, status, delay_ms: Math.round(delay) });
    await sleep(delay, signal);
  }

  async #read(response: Response, signal: AbortSignal, onText: (text: string) => void): Promise<SpeakOutcome> {
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) return this.#readWhole(response, signal, onText);
    if (!response.body) return { ok: false, error: 'the model server sent an empty response' };
    const decoder = new TextDecoder();
    let buffer = '';
    let done = false;
    let finished = false;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          const event = parseLine(line);
          if (event.kind === 'done') done = true;
          else if (event.kind === 'error') return { ok: false, error: `the model server reported: ${event.message}` };
          else if (event.kind === 'delta') {
            if (event.text) onText(event.text);
            if (event.finished) finished = true;
          }
        }
        if (done) break;
      }
    } catch (error) {
      if (signal.aborted) return { ok: false, error: abortReason(signal) };
      return { ok: false, error: `the model server's stream broke off: ${(error as Error).message}` };
    }
    if (signal.aborted) return { ok: false, error: abortReason(signal) };
    if (!done && !finished) return { ok: false, error: 'the model server closed the stream before [DONE]' };
    return { ok: true };
  }

  /** A server that ignored `stream: true` and answered with one JSON completion. */
  async #readWhole(response: Response, signal: AbortSignal, onText: (text: string) => void): Promise<SpeakOutcome> {
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch (error) {
      if (signal.aborted) return { ok: false, error: abortReason(signal) };
      return {
        ok: false,
        error: `the model server's answer is neither an event stream nor JSON: ${(error as Error).message}`,
      };
    }
    const content = (parsed as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
    if (typeof content !== 'string')
      return { ok: false, error: 'the model server answered without choices[0].message.content' };
    onText(content);
    return { ok: true };
  }
}

type StreamLine =
  | { kind: 'none' }
  | { kind: 'done' }
  | { kind: 'error'; message: string }
  | { kind: 'delta'; text: string; finished: boolean };

/** One line of the event stream: `data: …` carries a chunk; comments (`:`), `event:`, `id:` and blanks do not. */
export function parseLine(line: string): StreamLine {
  if (!line.startsWith('data:')) return { kind: 'none' };
  const data = line.slice(5).trim();
  if (data === '[DONE]') return { kind: 'done' };
  if (data === '') return { kind: 'none' };
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    return { kind: 'none' }; // a keep-alive or a vendor extension: not ours to fail on
  }
  const object = chunk as {
    error?: { message?: unknown } | string;
    choices?: { delta?: { content?: unknown }; finish_reason?: unknown }[];
  };
  if (object.error !== undefined) {
    const message = typeof object.error === 'string' ? object.error : object.error.message;
    return { kind: 'error', message: typeof message === 'string' ? message : JSON.stringify(object.error) };
  }
  const choice = object.choices?.[0];
  const content = choice?.delta?.content;
  return {
    kind: 'delta',
    text: typeof content === 'string' ? content : '',
    finished: typeof choice?.finish_reason === 'string',
  };
}
