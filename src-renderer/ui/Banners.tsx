import { describeLock } from '../model/format.ts';
import { useDashboard } from './hooks.ts';
import { LockIcon } from './icons.tsx';

/**
 * Present (empty) all the time so assistive tech announces it when it fills: a live
 * region inserted together with its text is often not read.
 */
export function ReadOnlyBanner() {
  const session = useDashboard((s) => s.session);
  const readOnly = session?.read_only === true;
  const holder = session ? describeLock(session.lock) : '';
  return (
    <div className="banner-slot" role="status">
      {readOnly && (
        <div className="banner read-only">
          <LockIcon />
          <span>
            {session.lock.holder
              ? `Read-only — ${holder} holds the workspace. Changes are disabled until it is released.`
              : 'Read-only — the workspace lock is being handed over.'}
          </span>
        </div>
      )}
    </div>
  );
}
