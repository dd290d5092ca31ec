import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import fs from 'node:fs';

const KEY_BYTES = 32;

/**
 * The HS256 key that signs access tokens, kept in `.lookout/signing.key` (0600). It is
 * created once and read at start-up, so tokens and sessions outlive a restart; it is
 * turned into a KeyObject once here, never per request.
 */
export function loadSigningKey(file: string): KeyObject {
  try {
    // `wx`: create only if absent, so two racing starts agree on one key.
    fs.writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stat = fs.lstatSync(file);
  if (!stat.isFile()) throw new Error(`${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  const raw = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
  if (raw.length < KEY_BYTES)
    throw new Error(`${file} holds a key shorter than ${KEY_BYTES} bytes; delete it to start afresh`);
  return createSecretKey(raw);
}

/** Writes a new key in place of the old one (atomically) and returns it. */
export function replaceSigningKey(file: string): KeyObject {
  const temp = `${file}.${process.pid}.tmp`;
  fs.rmSync(temp, { force: true });
  // `wx`: never written through a symlink someone planted at the temporary name.
  fs.writeFileSync(temp, `${randomBytes(KEY_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(temp, file);
  return loadSigningKey(file);
}
