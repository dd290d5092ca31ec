import { describe, expect, it } from 'vitest';
import { runLookout, spawnLookout } from '../helpers/cli.ts';
import { commandAgent, externalAgent, waitForDiscussion } from '../helpers/discussions.ts';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

describe('lookout discuss', () => {
  it('starts a discussion, follows it live to completion with control characters escaped, lists it', async () => {
    const workspace = tempWorkspace();
    const runtime = await startRuntime({ workspace });
    const lookout = (...args: string[]) => runLookout(['--workspace', workspace, ...args]);
    const slow = await commandAgent(runtime, 'slow');
    const sly = await commandAgent(runtime, 'say', 'line one\n\u001b]52;c;cHduZWQ=\u0007copied?\tend');

    const started = await lookout(
      'discuss',
      'new',
      '--topic',
      'Offline mode',
      '--agent',
      slow.name,
      '--agent',
      sly.id,
      '--max-turns',
      '2',
    );
    expect(started.code, started.stderr).toBe(0);
    const id = /^discussion (\w+) started \(round_robin, /.exec(started.stdout)![1]!;

    // Follow while the first reply streams: it ends by itself when the discussion completes.
    const tail = spawnLookout(['--workspace', workspace, 'discuss', 'tail', id.slice(0, 6)]);
    expect(await tail.exited).toBe(0);
    const out = tail.stdout();
    expect(out).toContain('Offline mode — ');
    expect(out).toMatch(/\[1\] slow-\w+: (\(cont\.\) )?.*slow-5 \n/);
    // The transcript keeps its newlines and tabs; an escape sequence is shown, never sent.
    expect(out).toContain(`[2] ${sly.name}: line one\n\\x1b]52;c;cHduZWQ=\\x07copied?\tend\n`);
    expect(out).not.toContain('\u001b');
    expect(out).toMatch(/-- completed \(max_turns \(2\) reached\)\n$/);
    // Whole, in order, once: the streamed reply is not printed twice.
    expect(out.match(/slow-0 /g)).toHaveLength(1);

    const list = await lookout('discuss', 'list');
    expect(list.stdout).toMatch(new RegExp(`${id} +completed +round_robin +2/2 `));
  });

  it('says something as the person, from an argument or stdin, and as an external agent', async () => {
    const workspace = tempWorkspace();
    const runtime = await startRuntime({ workspace });
    const lookout = (...args: string[]) => runLookout(['--workspace', workspace, ...args]);
    const ada = await externalAgent(runtime, 'ada');
    const bob = await externalAgent(runtime, 'bob');
    const started = await lookout(
      'discuss',
      'new',
      '--topic',
      'Naming',
      '--agent',
      'ada',
      '--agent',
      'bob',
      '--strategy',
      'mention',
      '--no-start',
      '--json',
    );
    const id = (JSON.parse(started.stdout) as { id: string }).id;
    expect(await lookout('discuss', 'say', id, 'What do you think, @bob?')).toMatchObject({
      code: 0,
      stdout: 'said (turn 1); next: bob\n',
    });
    const piped = await runLookout(['--workspace', workspace, 'discuss', 'say', id, '--as', 'bob'], {
      input: 'Ask @ada.\n',
    });
    expect(piped).toMatchObject({ code: 0, stdout: 'said (turn 2); next: ada\n' });
    const { messages } = await waitForDiscussion(runtime, id, (_, m) => m.length === 2);
    expect(messages.map((m) => [m.author, m.content])).toEqual([
      ['user', 'What do you think, @bob?'],
      [bob.id, 'Ask @ada.'],
    ]);
    expect(ada.id).toBeTruthy();
    expect(await lookout('discuss', 'pause', id)).toMatchObject({ code: 0, stdout: `discussion ${id} paused\n` });
    const refused = await lookout('discuss', 'say', id, 'hello?');
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toMatch(/^lookout: the server refused: discussion \w+ is paused; resume it first/);
  });

  it('adds model and external agents from the command line', async () => {
    const workspace = tempWorkspace();
    await startRuntime({ workspace });
    const lookout = (...args: string[]) => runLookout(['--workspace', workspace, ...args]);
    const llama = await lookout(
      'agent',
      'add',
      'llama',
      '--model-url',
      'http://127.0.0.1:11434/v1',
      '--model',
      'llama3.2',
      '--api-key-env',
      'OLLAMA_KEY',
    );
    expect(llama).toMatchObject({ code: 0 });
    expect(llama.stdout).toMatch(
      /^added agent llama \(\w+\): idle, speaks through llama3\.2 at http:\/\/127\.0\.0\.1:11434\/v1\n$/,
    );
    expect((await lookout('agent', 'add', 'human', '--external')).stdout).toMatch(
      /: idle, speaks through the API \(external\)\n$/,
    );
    const list = await lookout('agent', 'list');
    expect(list.stdout).toMatch(/llama +idle +- +llama3\.2 @ http:\/\/127\.0\.0\.1:11434\/v1/);
    expect(list.stdout).toMatch(/human +idle +- +\(external\)/);
    expect(await lookout('agent', 'add', 'half', '--model', 'x')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--model-url and --model go together/),
    });
    const bad = await lookout('agent', 'add', 'leaky', '--model-url', 'http://u:p@127.0.0.1/v1', '--model', 'm');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/model\.base_url is an http\(s\) URL without credentials/);
  });

  it('says what to fix on bad input, in one line', async () => {
    const workspace = tempWorkspace();
    await startRuntime({ workspace });
    const lookout = (...args: string[]) => runLookout(['--workspace', workspace, ...args]);
    expect(await lookout('discuss', 'new', '--topic', 'x')).toMatchObject({
      code: 2,
      stderr: 'lookout: name at least one participant: --agent ID (repeat it for more)\n',
    });
    expect(await lookout('discuss', 'new', '--topic', 'x', '--agent', 'a', '--strategy', 'loudest')).toMatchObject({
      code: 2,
      stderr: 'lookout: --strategy is one of round_robin, moderated, mention; got loudest\n',
    });
    expect((await lookout('discuss', 'new', '--topic', 'x', '--agent', 'nobody')).stderr).toMatch(
      /^lookout: no agent "nobody"/,
    );
    expect((await lookout('discuss', 'say', 'zzzz', 'hi')).stderr).toMatch(/^lookout: no discussion "zzzz"/);
    expect(await lookout('discuss', 'list')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^no discussions; start one/),
    });
  });
});
