import { StringDecoder } from 'node:string_decoder';
import { agentEnvironment } from '../../agents/environment.ts';
import { AgentProcess } from '../../agents/runner.ts';
import { abortReason, seconds, type SpeakOutcome, type SpeakRequest, type SpeakerProvider } from './provider.ts';

/** The tail of stderr kept for a failure's reason. */
const STDERR_TAIL = 2048;

/**
 * A `command` agent: its program (argv, no shell, its own process group, always reaped —
 * the same runner tasks use) reads `{"discussion","messages","you","knowledge"}` on stdin
 * and its stdout, as it streams, is the reply.
 */
export class CommandProvider implements SpeakerProvider {
  #cwd: string;
  #graceMs: number;

  constructor(options: { cwd: string; graceMs: number }) {
    this.#cwd = options.cwd;
    this.#graceMs = options.graceMs;
  }

  async speak({ agent, input, onText, signal, timeoutMs }: SpeakRequest): Promise<SpeakOutcome> {
    if (signal.aborted) return { ok: false, error: abortReason(signal) };
    const env = agentEnvironment(agent);
    env.LOOKOUT_AGENT_ID = agent.id;
    env.LOOKOUT_DISCUSSION_ID = input.discussion.id;
    let proc: AgentProcess;
    try {
      proc = await AgentProcess.start({
        argv: agent.command,
        cwd: this.#cwd,
        env,
        timeoutMs,
        graceMs: this.#graceMs,
        stdin: `${JSON.stringify(input)}\n`,
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        ok: false,
        error: `cannot start ${agent.command[0] ?? 'its program'}: ${code ?? (error as Error).message}`,
      };
    }
    const stop = () => void proc.terminate('cancelled');
    signal.addEventListener('abort', stop, { once: true });
    // Decoding as a stream keeps a character split across two reads whole.
    const decoder = new StringDecoder('utf8');
    let wrote = false;
    proc.stdout.on('data', (chunk: Buffer) => {
      const text = decoder.write(chunk);
      if (text.length > 0) {
        wrote = true;
        onText(text);
      }
    });
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    const outcome = await proc.done;
    signal.removeEventListener('abort', stop);
    const rest = decoder.end();
    if (rest.length > 0) {
      wrote = true;
      onText(rest);
    }
    const lastLine = stderr.trim().split('\n').at(-1)?.trim();
    const said = lastLine ? `: ${lastLine}` : '';
    if (outcome.ending === 'cancelled') return { ok: false, error: abortReason(signal) };
    if (outcome.ending === 'timed_out') return { ok: false, error: `timed out after ${seconds(timeoutMs)}` };
    if (outcome.signal !== null) return { ok: false, error: `killed by ${outcome.signal}${said}` };
    if (outcome.exitCode !== 0) return { ok: false, error: `exit code ${outcome.exitCode}${said}` };
    if (!wrote) return { ok: false, error: `the program wrote nothing on stdout${said}` };
    return { ok: true };
  }
}
