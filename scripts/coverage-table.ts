/**
 * Prints the coverage of each source folder (what CI shows after `npm test -- --coverage`):
 * vitest's json-summary has one row per file; a reviewer asks per folder ("is the event
 * core covered?"), so the files are summed into their folders here.
 *
 *   node scripts/coverage-table.ts [coverage/coverage-summary.json]
 */
import fs from 'node:fs';
import path from 'node:path';

interface Count {
  total: number;
  covered: number;
}
type Metrics = Record<'lines' | 'statements' | 'functions' | 'branches', Count>;

const file = process.argv[2] ?? 'coverage/coverage-summary.json';
let summary: Record<string, Metrics>;
try {
  summary = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Metrics>;
} catch (error) {
  console.error(
    `coverage-table: cannot read ${file} (${(error as Error).message}); run \`npm test -- --coverage\` first`,
  );
  process.exit(1);
}

const root = process.cwd();
const keys = ['lines', 'statements', 'functions', 'branches'] as const;
const folders = new Map<string, Metrics>();
for (const [name, metrics] of Object.entries(summary)) {
  if (name === 'total') continue;
  const folder = path.relative(root, path.dirname(name)) || '.';
  const sum = folders.get(folder) ?? (Object.fromEntries(keys.map((k) => [k, { total: 0, covered: 0 }])) as Metrics);
  for (const key of keys) {
    sum[key].total += metrics[key].total;
    sum[key].covered += metrics[key].covered;
  }
  folders.set(folder, sum);
}

const percent = (count: Count) => (count.total === 0 ? '100.0' : ((100 * count.covered) / count.total).toFixed(1));
const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b));
rows.push(['all', summary.total!]);
const width = Math.max(...rows.map(([name]) => name.length), 'folder'.length);
const line = (cells: string[]) =>
  `${cells[0]!.padEnd(width)}  ${cells
    .slice(1)
    .map((c) => c.padStart(10))
    .join('')}`;
console.log(line(['folder', '% lines', '% stmts', '% funcs', '% branch']));
for (const [name, metrics] of rows) console.log(line([name, ...keys.map((key) => percent(metrics[key]))]));
