import type { SessionState } from '../../../src-shared/session.ts';
import type { LookoutError } from '../../errors.ts';

/** What the guard asks of the session (SessionService); http/ imports no domain. */
export interface WriteGate {
  readonly state: SessionState;
  mayWrite(lockId: string | undefined): boolean;
  /** The refusal, worded by the session (it knows whether a handover is under way). */
  readOnlyError(): LookoutError;
}

/**
 * The 423 answer: while the server does not hold the lock, a route whose policy says
 * `readOnly: 'blocked'` is refused, unless the request presents the holder's lock id.
 * Which routes that is, each route declares (http/route.ts); there is no path list.
 */
export function assertWritable(session: WriteGate, lockId: string | undefined): void {
  if (!session.mayWrite(lockId)) throw session.readOnlyError();
}
