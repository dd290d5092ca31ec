/**
 * Starts or stops the PostgreSQL server the test suite runs against (CI: .ci/run).
 *
 *   eval "$(node scripts/postgres-test-server.ts start)"   # exports LOOKOUT_TEST_DATABASE_URL
 *   node scripts/postgres-test-server.ts stop               # uses LOOKOUT_TEST_POSTGRES_DIR
 *
 * `start` prints shell `export` lines on stdout and nothing else there; messages go to
 * stderr. `stop` is safe to call twice and when start never ran.
 */
import { initPostgresServer, removePostgresServer } from '../test/helpers/postgres-server.ts';

const quote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

const command = process.argv[2];
if (command === 'start') {
  const server = await initPostgresServer();
  process.stdout.write(
    `export LOOKOUT_TEST_DATABASE_URL=${quote(server.url)}\nexport LOOKOUT_TEST_POSTGRES_DIR=${quote(server.dir)}\n`,
  );
  console.error(`postgres: test server on 127.0.0.1:${server.port} (${server.dir})`);
} else if (command === 'stop') {
  const dir = process.argv[3] ?? process.env.LOOKOUT_TEST_POSTGRES_DIR;
  if (dir) {
    await removePostgresServer(dir);
    console.error(`postgres: test server in ${dir} stopped and removed`);
  }
} else {
  console.error('usage: node scripts/postgres-test-server.ts start|stop [dir]');
  process.exit(2);
}
