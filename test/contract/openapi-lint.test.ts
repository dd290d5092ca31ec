import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startRuntime } from '../helpers/runtime.ts';
import { tempWorkspace } from '../helpers/workspace.ts';

const run = promisify(execFile);
const REDOCLY = path.resolve(import.meta.dirname, '../../node_modules/@redocly/cli/bin/cli.js');

describe('/openapi.json under an independent linter', () => {
  it('passes `redocly lint` with the recommended rules: no errors, no warnings', async () => {
    const runtime = await startRuntime();
    const file = path.join(tempWorkspace(), 'openapi.json');
    fs.writeFileSync(file, await (await fetch(`${runtime.url}/openapi.json`)).text());
    const result = await run(
      process.execPath,
      [REDOCLY, 'lint', file, '--extends', 'recommended', '--format', 'json'],
      { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, timeout: 60_000 },
    ).catch((error: { stdout?: string; stderr?: string }) => ({
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }));
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const problems = report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`);
    console.log(`redocly lint: ${report.totals.errors} errors, ${report.totals.warnings} warnings`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);
});
