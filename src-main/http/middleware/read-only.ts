import type { Middleware } from 'koa';
import { HEADERS } from '../../../src-shared/protocol.ts';
import type { SessionState } from '../../../src-shared/session.ts';
import type { LookoutError } from '../../errors.ts';
import { WRITE_METHODS } from './json-body.ts';

/** What the guard asks of the session (SessionService); http/ imports no domain. */
export interface WriteGate {
  readonly state: SessionState;
  mayWrite(lockId: string | undefined): boolean;
  /** The refusal, worded by the session (it knows whether a handover is under way). */
  readOnlyError(): LookoutError;
}

/**
 * The 423 guard for /api/v1: while the server does not hold the lock, writes are
 * refused — except those `exempt` names (event publishing: events are observations; the
 * handover requests themselves) and requests that present the holder's lock id.
 */
export function readOnlyGuard(session: WriteGate, exempt: (method: string, path: string) => boolean): Middleware {
  return async (ctx, next) => {
    if (WRITE_METHODS.has(ctx.method) && !exempt(ctx.method, ctx.path)) {
      if (!session.mayWrite(ctx.get(HEADERS.lockId) || undefined)) throw session.readOnlyError();
    }
    await next();
  };
}
