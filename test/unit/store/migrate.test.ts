import { describe, expect, it } from 'vitest';
import { planMigrations } from '../../../src-main/store/migrate.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src-main/store/migrations.ts';
import { POSTGRES_MIGRATIONS } from '../../../src-main/store/postgres/migrations.ts';

describe('the migration planner', () => {
  it('has a PostgreSQL twin for every SQLite migration, and nothing beyond them', () => {
    // A new SQLite migration needs POSTGRES_MIGRATIONS[N] too (a no-op that says why is fine):
    // without it a team-mode server refuses to start.
    expect(Object.keys(POSTGRES_MIGRATIONS).map(Number)).toEqual(
      Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1),
    );
  });

  it('plans the steps from a version to the newest, in order, for either dialect', () => {
    expect(planMigrations('sqlite', 0, 'x.db').map((step) => step.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    const last = planMigrations('postgres', SCHEMA_VERSION - 1, 'postgres://h/db');
    expect(last).toEqual([{ version: SCHEMA_VERSION, sql: POSTGRES_MIGRATIONS[SCHEMA_VERSION] }]);
    expect(planMigrations('postgres', SCHEMA_VERSION, 'postgres://h/db')).toEqual([]);
  });

  it('refuses a store newer than this Lookout, naming both versions', () => {
    expect(() => planMigrations('postgres', SCHEMA_VERSION + 3, 'postgres://u:***@h/db')).toThrow(
      `the database postgres://u:***@h/db cannot be used: its schema is version ${SCHEMA_VERSION + 3}, newer than this Lookout understands (${SCHEMA_VERSION}); upgrade Lookout`,
    );
  });
});
