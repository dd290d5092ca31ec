import { StartupError } from '../errors.ts';
import type { Dialect } from './sql-store.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import { POSTGRES_MIGRATIONS } from './postgres/migrations.ts';

/** One step of a plan: move the schema from version - 1 to version with this SQL. */
export interface MigrationStep {
  version: number;
  sql: string;
}

/**
 * The one migration runner's plan for either dialect: which steps take a store at
 * `current` to SCHEMA_VERSION. Migrations are numbered once for both dialects: entry N of
 * src-main/store/migrations.ts (SQLite) and POSTGRES_MIGRATIONS[N] do the same thing each
 * in its own SQL. A store newer than this Lookout is refused, and a step with no SQL for
 * the dialect is refused before anything runs (never half a schema).
 */
export function planMigrations(dialect: Dialect, current: number, location: string): MigrationStep[] {
  if (current > SCHEMA_VERSION) {
    throw new StartupError(
      `the database ${location} cannot be used: its schema is version ${current}, newer than this Lookout understands (${SCHEMA_VERSION}); upgrade Lookout`,
    );
  }
  const steps: MigrationStep[] = [];
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    const sql = dialect === 'sqlite' ? MIGRATIONS[version - 1] : POSTGRES_MIGRATIONS[version];
    if (sql === undefined) {
      throw new StartupError(
        `the database ${location} cannot be migrated: migration ${version} has no ${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} version in this build of Lookout (a packaging error: report it)`,
      );
    }
    steps.push({ version, sql });
  }
  return steps;
}
