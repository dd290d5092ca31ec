import { createHash } from 'node:crypto';
import type { StatementSync } from 'node:sqlite';
import type { Role, User } from '../../src-shared/access.ts';
import type { Database } from '../store/database.ts';

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

/** The access tables (migration 3) behind prepared statements. */
export class AccessStore {
  readonly #db: Database;
  readonly #s: Record<string, StatementSync>;

  constructor(db: Database) {
    this.#db = db;
    const p = (sql: string) => db.db.prepare(sql);
    this.#s = {
      userById: p('SELECT * FROM users WHERE id = ?'),
      userByName: p('SELECT * FROM users WHERE name_key = ?'),
      users: p('SELECT * FROM users ORDER BY name_key'),
      insertUser: p(
        'INSERT INTO users (id, name, name_key, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      updateRole: p('UPDATE users SET role = ?, updated_at = ? WHERE id = ?'),
      updatePassword: p('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?'),
      updateDisabled: p('UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?'),
      signedIn: p('UPDATE users SET last_sign_in_at = ? WHERE id = ?'),
      deleteUser: p('DELETE FROM users WHERE id = ?'),
      insertFamily: p('INSERT INTO refresh_families (id, subject, created_at) VALUES (?, ?, ?)'),
      insertToken: p(
        'INSERT INTO refresh_tokens (token_hash, binding_hash, family_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)',
      ),
      token: p(
        'SELECT t.*, f.subject, f.revoked_at AS family_revoked_at FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?',
      ),
      useToken: p('UPDATE refresh_tokens SET used_at_ms = ? WHERE token_hash = ? AND used_at_ms IS NULL'),
      revokeFamily: p(
        'UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL',
      ),
      revokeSubject: p(
        'UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE subject = ? AND revoked_at IS NULL',
      ),
      revokeAll: p('UPDATE refresh_families SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL'),
      deleteFamilies: p('DELETE FROM refresh_families WHERE subject = ?'),
      // Keep a used token until it expires: a replay of it must still be recognised as reuse.
      prune: p('DELETE FROM refresh_tokens WHERE expires_at_ms < ?'),
      pruneFamilies: p(
        'DELETE FROM refresh_families WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)',
      ),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn);
  }

  userById(id: string): UserRow | undefined {
    return this.#s.userById!.get(id) as UserRow | undefined;
  }

  userByName(name: string): UserRow | undefined {
    return this.#s.userByName!.get(nameKey(name)) as UserRow | undefined;
  }

  users(): UserRow[] {
    return this.#s.users!.all() as unknown as UserRow[];
  }

  insertUser(row: { id: string; name: string; role: Role; password_hash: string; at: string }): void {
    this.#s.insertUser!.run(row.id, row.name, nameKey(row.name), row.role, row.password_hash, row.at, row.at);
  }

  setRole(id: string, role: Role, at: string): void {
    this.#s.updateRole!.run(role, at, id);
  }

  setPassword(id: string, hash: string, at: string): void {
    this.#s.updatePassword!.run(hash, at, id);
  }

  setDisabled(id: string, disabledAt: string | null, at: string): void {
    this.#s.updateDisabled!.run(disabledAt, at, id);
  }

  recordSignIn(id: string, at: string): void {
    this.#s.signedIn!.run(at, id);
  }

  deleteUser(id: string): void {
    this.#s.deleteFamilies!.run(id);
    this.#s.deleteUser!.run(id);
  }

  insertFamily(id: string, subject: string, at: string): void {
    this.#s.insertFamily!.run(id, subject, at);
  }

  insertToken(row: { tokenHash: string; bindingHash: string; familyId: string; now: number; expiresAt: number }): void {
    this.#s.insertToken!.run(row.tokenHash, row.bindingHash, row.familyId, row.now, row.expiresAt);
  }

  token(tokenHash: string): RefreshRow | undefined {
    return this.#s.token!.get(tokenHash) as RefreshRow | undefined;
  }

  /** Marks a token used; false when it already was (a concurrent use won the race). */
  useToken(tokenHash: string, now: number): boolean {
    return Number(this.#s.useToken!.run(now, tokenHash).changes) === 1;
  }

  revokeFamily(id: string, reason: string, at: string): void {
    this.#s.revokeFamily!.run(at, reason, id);
  }

  revokeSubject(subject: string, reason: string, at: string): number {
    return Number(this.#s.revokeSubject!.run(at, reason, subject).changes);
  }

  revokeAll(reason: string, at: string): number {
    return Number(this.#s.revokeAll!.run(at, reason).changes);
  }

  prune(now: number): void {
    this.#s.prune!.run(now);
    this.#s.pruneFamilies!.run();
  }
}
