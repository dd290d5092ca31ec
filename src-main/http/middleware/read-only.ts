import { describeHolder, type SessionState } from '../../../src-shared/session.ts';
import { LookoutError } from '../../errors.ts';

/** What the guard asks of the session (SessionService); http/ imports no domain. */
export interface WriteGate {
  readonly state: SessionState;
  mayWrite(lockId: string | undefined): boolean;
}

/**
 * The 423 answer: while the server does not hold the lock, a route whose policy says
 * `readOnly: 'blocked'` is refused, unless the request presents the holder's lock id.
 * Which routes that is, each route declares (http/route.ts); there is no path list.
 */
export function assertWritable(session: WriteGate, lockId: string | undefined): void {
  if (session.mayWrite(lockId)) return;
  const lock = session.state.lock;
  throw new LookoutError(
    'read_only',
    `the workspace is read-only: it is held by ${describeHolder(lock)}; writes resume when it is released`,
    { details: { lock } },
  );
}
