import { z } from 'zod';

/** Who holds the workspace lock, as the API and `session.lock_changed` report it. */
export const LockInfo = z.object({
  holder: z.enum(['server', 'cli']).nullable(),
  pid: z.number().int().nullable(),
  hostname: z.string().nullable(),
  since: z.string().nullable(),
  id: z.string().nullable(),
});
export type LockInfo = z.infer<typeof LockInfo>;

export const SessionState = z.object({
  read_only: z.boolean(),
  lock: LockInfo,
});
export type SessionState = z.infer<typeof SessionState>;

export const HandoverResponse = z.object({
  released: z.boolean(),
  session: SessionState,
});
export type HandoverResponse = z.infer<typeof HandoverResponse>;

export const NO_LOCK: LockInfo = { holder: null, pid: null, hostname: null, since: null, id: null };

/** "CLI pid 4242 since 14:02" — how the holder is named in messages and banners. */
export function describeHolder(lock: LockInfo): string {
  if (!lock.holder) return 'nobody';
  const who = lock.holder === 'cli' ? 'CLI' : 'server';
  const since = lock.since ? ` since ${lock.since.slice(11, 16)} UTC` : '';
  return `${who} pid ${lock.pid ?? '?'}${lock.hostname ? ` on ${lock.hostname}` : ''}${since}`;
}
