import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StartupError } from '../../../src-main/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src-main/store/migrations.ts';
import { openDatabase } from '../../../src-main/store/database.ts';
import { tempWorkspace } from '../../helpers/workspace.ts';

/** What the integration tests do not reach: the transaction helper, ping and close, unopenable paths. */
describe('openDatabase', () => {
  it('migrates a new store to the latest schema and names it with an epoch', async () => {
    const db = openDatabase(':memory:');
    expect(db.schemaVersion).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect((db.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    expect(db.epoch).toMatch(/^[0-9a-f]{16}$/);
    await db.close();
  });

  it('runs a transaction all or nothing, and hands back its result', async () => {
    const db = openDatabase(':memory:');
    const count = () => (db.db.prepare('SELECT COUNT(*) AS n FROM state').get() as { n: number }).n;
    const insert = db.db.prepare(`INSERT INTO state (section, json, updated_at) VALUES (?, '{}', 'now')`);
    expect(db.transaction(() => (insert.run('a'), 'done'))).toBe('done');
    expect(() =>
      db.transaction(() => {
        insert.run('b');
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    expect(count()).toBe(1);
    expect(db.db.isTransaction).toBe(false);
    await db.close();
  });

  it('answers ping while open and not after close; closing twice is harmless', async () => {
    const db = openDatabase(path.join(tempWorkspace(), 'lookout.db'));
    expect(db.ping()).toBe(true);
    await db.close();
    expect(db.ping()).toBe(false);
    await db.close();
  });

  it('refuses a path it cannot open with a message that says what to do', () => {
    const dir = tempWorkspace();
    const file = path.join(dir, 'missing', 'lookout.db');
    expect(() => openDatabase(file)).toThrow(StartupError);
    expect(() => openDatabase(file)).toThrow(`the database ${file} cannot be used`);
    fs.mkdirSync(path.join(dir, 'a-directory'));
    expect(() => openDatabase(path.join(dir, 'a-directory'))).toThrow(/not a regular file; remove it/);
  });
});
