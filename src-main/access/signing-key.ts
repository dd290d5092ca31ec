import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { SqlStore } from '../store/sql-store.ts';
import { isUniqueViolation } from '../store/unique-violation.ts';

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

/** A key and its generation (the `kid` of the tokens it signs). */
export interface SharedKey {
  generation: number;
  key: KeyObject;
}

const toSharedKey = (row: { generation: number; key: string }): SharedKey => {
  const raw = Buffer.from(row.key, 'base64url');
  if (raw.length < KEY_BYTES) throw new Error(`signing key ${row.generation} in the database is too short`);
  return { generation: Number(row.generation), key: createSecretKey(raw) };
};

/**
 * Servers sharing a store (team mode) sign with one key, kept in its `signing_keys`
 * table: a token signed by one server is good on every other. The first server to start
 * creates generation 1 (`ON CONFLICT DO NOTHING`: two starting at once agree on one key).
 */
export async function loadSharedSigningKey(store: SqlStore): Promise<SharedKey> {
  await store.run(
    'INSERT INTO signing_keys (generation, key, created_at) VALUES (1, ?, ?) ON CONFLICT (generation) DO NOTHING',
    [randomBytes(KEY_BYTES).toString('base64url'), new Date().toISOString()],
  );
  return currentSharedSigningKey(store);
}

export async function currentSharedSigningKey(store: SqlStore): Promise<SharedKey> {
  const row = await store.get<{ generation: number; key: string }>(
    'SELECT generation, key FROM signing_keys ORDER BY generation DESC LIMIT 1',
  );
  if (!row) return loadSharedSigningKey(store);
  return toSharedKey(row);
}

/** A new generation replaces the key on every server (each notices within a second); older ones are dropped. */
export async function replaceSharedSigningKey(store: SqlStore): Promise<SharedKey> {
  try {
    await store.transaction(async (tx) => {
      const top = await tx.get<{ generation: number | null }>('SELECT MAX(generation) AS generation FROM signing_keys');
      const generation = Number(top?.generation ?? 0) + 1;
      await tx.run('INSERT INTO signing_keys (generation, key, created_at) VALUES (?, ?, ?)', [
        generation,
        randomBytes(KEY_BYTES).toString('base64url'),
        new Date().toISOString(),
      ]);
      await tx.run('DELETE FROM signing_keys WHERE generation < ?', [generation]);
    });
  } catch (error) {
    // Another server rotated at the same moment: its new key is as fresh as ours would be.
    if (!isUniqueViolation(error)) throw error;
  }
  return currentSharedSigningKey(store);
}
