import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src-shared/agents.ts';
import { MAX_MESSAGE_LENGTH, type Discussion, type MessagePage } from '../../src-shared/discussions.ts';
import { createRuntime, type Runtime } from '../../src-main/runtime.ts';
import { recordDiscussionEvents } from '../helpers/discussions.ts';
import { api } from '../helpers/runtime.ts';
import { call } from '../helpers/tasks.ts';
import { mountTmpfs, type Tmpfs, tmpfsAvailable } from '../helpers/tmpfs.ts';

// A real full disk (a small tmpfs filled until ENOSPC), as in full-disk.test.ts: a post
// whose message or event cannot be stored is refused, never acknowledged.
const canMount = tmpfsAvailable();

const mounts: Tmpfs[] = [];
const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop().catch(() => undefined);
  for (const mount of mounts.splice(0)) mount.unmount();
});

describe.skipIf(!canMount)('discussions on a full disk (real tmpfs)', () => {
  it('a post that cannot be stored or published is 507, announces nothing, and the discussion carries on once space is back', async () => {
    const disk = mountTmpfs(16 * 1024 * 1024);
    mounts.push(disk);
    const workspace = path.join(disk.dir, 'ws');
    fs.mkdirSync(workspace);
    const runtime = await createRuntime({ workspace, port: 0, logLevel: 'silent' });
    runtimes.push(runtime);
    const events = recordDiscussionEvents(runtime);
    const ext = await call<Agent>(runtime, 'POST', '/api/v1/agents', { name: 'ext' }, 201);
    const d = await call<Discussion>(
      runtime,
      'POST',
      '/api/v1/discussions',
      { topic: 'Full disk', participants: [ext.id], start: false },
      201,
    );
    const route = `/api/v1/discussions/${d.id}/messages`;
    const lastSeq = () => runtime.bus.log.lastSequenceNumber;
    const before = lastSeq();

    disk.fill();
    // Long posts, so the message and its event need new pages; each one refused.
    for (let i = 0; i < 3; i++) {
      const res = await api(runtime, route, { method: 'POST', json: { content: `${i}`.repeat(MAX_MESSAGE_LENGTH) } });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(res.status, JSON.stringify(body)).toBe(507);
      expect(body.error.code).toBe('insufficient_storage');
    }
    expect(lastSeq()).toBe(before);
    expect(events.filter((e) => e.type === 'discussion.message_created')).toEqual([]);

    disk.free();
    const posted = await call<{ discussion: Discussion }>(runtime, 'POST', route, { content: 'space again' }, 201);
    expect(posted.discussion.next_speaker).toBe(ext.id);
    const page = await call<MessagePage>(runtime, 'GET', `${route}?limit=50`, undefined, 200);
    // Nothing of the refused posts was kept: the message is the first, turn 1.
    expect(page.messages).toMatchObject([{ content: 'space again', status: 'complete', turn: 1 }]);
  });
});
