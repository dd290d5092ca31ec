import { LookoutError } from '../errors.ts';

/** SQLite's primary result codes that say something about the disk rather than the data. */
const SQLITE_PERM = 3;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

export type StorageFault = 'full' | 'io' | 'corrupt' | 'permission' | 'other';

/**
 * What a node:sqlite (or fs) error says about the store: a full disk and an I/O error
 * are not corruption, and the advice for each differs (free space / check the disk vs
 * move the three database files aside).
 */
export function classifyStorageError(error: unknown): StorageFault {
  const e = error as { errcode?: unknown; code?: unknown };
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') return 'full';
  if (e?.code === 'EIO') return 'io';
  if (e?.code === 'EACCES' || e?.code === 'EPERM' || e?.code === 'EROFS') return 'permission';
  if (typeof e?.errcode !== 'number') return 'other';
  switch (e.errcode & 0xff) {
    case SQLITE_FULL:
      return 'full';
    case SQLITE_IOERR:
      return 'io';
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return 'corrupt';
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return 'permission';
    default:
      return 'other';
  }
}

/**
 * A request that failed because the store could not write: 507 for a full disk, 503 for
 * an I/O error. The transaction was rolled back, so nothing of the request was stored.
 */
export function storageRequestError(error: unknown): LookoutError | undefined {
  const fault = classifyStorageError(error);
  if (fault === 'full') {
    return new LookoutError(
      'insufficient_storage',
      'the disk holding the workspace is full: nothing of this request was stored. Free some space; writes resume by themselves',
      { cause: error },
    );
  }
  if (fault === 'io') {
    return new LookoutError(
      'unavailable',
      'the workspace disk reported an I/O error: nothing of this request was stored; try again, and check the disk if it persists',
      { cause: error, headers: { 'Retry-After': '5' } },
    );
  }
  return undefined;
}
