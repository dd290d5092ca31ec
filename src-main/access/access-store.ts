import { createHash } from 'node:crypto';
import type { Role, User } from '../../src-shared/access.ts';
import type { SqlExecutor, SqlStore } from '../store/sql-store.ts';

export interface UserRow {
  id: string;
  name: string;
  name_key: string;
  role: Role;
  password_hash: string;
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
  disabled_at: string | null;
  tokens_valid_from_ms: number;
}

export interface RefreshRow {
  token_hash: string;
  binding_hash: string;
  family_id: string;
  created_at_ms: number;
  expires_at_ms: number;
  used_at_ms: number | null;
  subject: string;
  family_revoked_at: string | null;
}

/** NFC and lower case: the form names are compared in. */
export const nameKey = (name: string): string => name.normalize('NFC').toLowerCase();

/** Only hashes of refresh tokens and bindings are stored, never the values. */
export const secretHash = (value: string): string => createHash('sha256').update(value).digest('base64url');

export const toUser = (row: UserRow): User => ({
  id: row.id,
  name: row.name,
  role: row.role,
  created_at: row.created_at,
  last_sign_in_at: row.last_sign_in_at,
  disabled: row.disabled_at !== null,
});

/**
 * The access tables (migration 5) in either dialect. `transaction` hands fn a store bound
 * to the transaction, so every statement in it commits or rolls back together.
 */
export class AccessStore {
  readonly #x: SqlExecutor;
  readonly #store: SqlStore | undefined;

  constructor(store: SqlStore | SqlExecutor) {
    this.#x = store;
    this.#store = 'transaction' in store ? store : undefined;
  }

  get dialect(): SqlExecutor['dialect'] {
    return this.#x.dialect;
  }

  transaction<T>(fn: (tx: AccessStore) => Promise<T>): Promise<T> {
    if (!this.#store) return fn(this); // already inside one
    return this.#store.transaction((tx) => fn(new AccessStore(tx)));
  }

  userById(id: string): Promise<UserRow | undefined> {
    return this.#x.get<UserRow>('SELECT * FROM users WHERE id = ?', [id]);
  }

  userByName(name: string): Promise<UserRow | undefined> {
    return this.#x.get<UserRow>('SELECT * FROM users WHERE name_key = ?', [nameKey(name)]);
  }

  users(): Promise<UserRow[]> {
    return this.#x.all<UserRow>('SELECT * FROM users ORDER BY name_key');
  }

  async insertUser(row: { id: string; name: string; role: Role; password_hash: string; at: string }): Promise<void> {
    await this.#x.run(
      'INSERT INTO users (id, name, name_key, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [row.id, row.name, nameKey(row.name), row.role, row.password_hash, row.at, row.at],
    );
  }

  async setRole(id: string, role: Role, at: string): Promise<void> {
    await this.#x.run('UPDATE users SET role = ?, updated_at = ? WHERE id = ?', [role, at, id]);
  }

  async setPassword(id: string, hash: string, at: string): Promise<void> {
    await this.#x.run('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?', [hash, at, id]);
  }

  async setDisabled(id: string, disabledAt: string | null, at: string): Promise<void> {
    await this.#x.run('UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?', [disabledAt, at, id]);
  }

  /** Tokens issued before `ms` no longer count (a change of role or password, on any server). */
  async setTokensValidFrom(id: string, ms: number): Promise<void> {
    await this.#x.run('UPDATE users SET tokens_valid_from_ms = ? WHERE id = ? AND tokens_valid_from_ms < ?', [
      ms,
      id,
      ms,
    ]);
  }

  async recordSignIn(id: string, at: string): Promise<void> {
    await this.#x.run('UPDATE users SET last_sign_in_at = ? WHERE id = ?', [at, id]);
  }

  async deleteUser(id: string): Promise<void> {
    await this.#x.run('DELETE FROM refresh_families WHERE subject = ?', [id]);
    await this.#x.run('DELETE FROM users WHERE id = ?', [id]);
  }

  async insertFamily(id: string, subject: string, at: string): Promise<void> {
    await this.#x.run('INSERT INTO refresh_families (id, subject, created_at) VALUES (?, ?, ?)', [id, subject, at]);
  }

  async insertToken(row: {
    tokenHash: string;
    bindingHash: string;
    familyId: string;
    now: number;
    expiresAt: number;
  }): Promise<void> {
    await this.#x.run(
      'INSERT INTO refresh_tokens (token_hash, binding_hash, family_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)',
      [row.tokenHash, row.bindingHash, row.familyId, row.now, row.expiresAt],
    );
  }

  token(tokenHash: string): Promise<RefreshRow | undefined> {
    return this.#x.get<RefreshRow>(
      'SELECT t.*, f.subject, f.revoked_at AS family_revoked_at FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?',
      [tokenHash],
    );
  }

  /** Marks a token used; false when it already was (a concurrent use, here or on another server, won the race). */
  async useToken(tokenHash: string, now: number): Promise<boolean> {
    const { changes } = await this.#x.run(
      'UPDATE refresh_tokens SET used_at_ms = ? WHERE token_hash = ? AND used_at_ms IS NULL',
      [now, tokenHash],
    );
    return changes === 1;
  }

  async revokeFamily(id: string, reason: string, at: string): Promise<void> {
    await this.#x.run(
      'UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL',
      [at, reason, id],
    );
  }

  async revokeSubject(subject: string, reason: string, at: string): Promise<number> {
    const { changes } = await this.#x.run(
      'UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE subject = ? AND revoked_at IS NULL',
      [at, reason, subject],
    );
    return changes;
  }

  async revokeAll(reason: string, at: string): Promise<number> {
    const { changes } = await this.#x.run(
      'UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL',
      [at, reason],
    );
    return changes;
  }

  async prune(now: number): Promise<void> {
    // Keep a used token until it expires: a replay of it must still be recognised as reuse.
    await this.#x.run('DELETE FROM refresh_tokens WHERE expires_at_ms < ?', [now]);
    await this.#x.run(
      'DELETE FROM refresh_families WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)',
    );
  }
}
