/**
 * bench/access: what the access layer costs.
 *   1. sign-in: name + password over HTTP against a real runtime (scrypt N=2^15, r=8),
 *      p50/p95 of --signins sign-ins (the target is 50–150 ms: slow for a guesser, quick for a person);
 *   2. the per-request check: verifying an access JWT (jose, HS256, key imported once) beside
 *      the owner-token compare (sha256 + timingSafeEqual) as the peer, µs per check;
 *   3. a whole request: GET /api/v1/session with a Bearer JWT vs the owner token, p50 over HTTP.
 *
 *   node bench/access.ts [--signins 20] [--checks 20000] [--requests 2000]
 *
 * Prints one JSON object, then a table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRuntime } from '../src-main/runtime.ts';
import { tokensEqual } from '../src-main/transport/credentials.ts';

const { values } = parseArgs({
  options: {
    signins: { type: 'string', default: '20' },
    checks: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '2000' },
  },
});
const count = (name: keyof typeof values) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench/access: --${name} must be a positive integer`);
    process.exit(1);
  }
  return n;
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) };
};
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'lookout-bench-access-'));
const runtime = await createRuntime({
  workspace,
  port: 0,
  logLevel: 'warn',
  apiRateBurst: 1_000_000,
  apiRatePerSecond: 1_000_000,
});
try {
  const json = { 'content-type': 'application/json', 'x-session-token': runtime.token };
  const created = await fetch(`${runtime.url}/api/v1/users`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: 'bench', role: 'viewer', password: 'correct horse battery' }),
  });
  if (created.status !== 201) throw new Error(`creating the user answered ${created.status}`);

  // 1. sign-in
  const signIns: number[] = [];
  let access = '';
  for (let i = 0; i < count('signins'); i++) {
    const started = performance.now();
    const response = await fetch(`${runtime.url}/api/v1/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', password: 'correct horse battery' }),
    });
    const body = (await response.json()) as { access_token: string };
    signIns.push(performance.now() - started);
    access = body.access_token;
  }

  // 2. the per-request check, in process
  const checks = count('checks');
  for (let i = 0; i < 1000; i++) await runtime.access.verifyAccessToken(access); // warm up
  let started = performance.now();
  for (let i = 0; i < checks; i++) await runtime.access.verifyAccessToken(access);
  const jwtUs = ((performance.now() - started) * 1000) / checks;
  started = performance.now();
  for (let i = 0; i < checks; i++) tokensEqual(runtime.token, runtime.token);
  const ownerUs = ((performance.now() - started) * 1000) / checks;

  // 3. whole requests
  const timeRequests = async (headers: Record<string, string>) => {
    const samples: number[] = [];
    for (let i = 0; i < count('requests'); i++) {
      const t = performance.now();
      const response = await fetch(`${runtime.url}/api/v1/session`, { headers });
      await response.arrayBuffer();
      samples.push(performance.now() - t);
    }
    return stats(samples);
  };
  const bearer = await timeRequests({ authorization: `Bearer ${access}` });
  const owner = await timeRequests({ 'x-session-token': runtime.token });

  const signIn = stats(signIns);
  const result = {
    sign_in_ms: { p50: round(signIn.p50, 1), p95: round(signIn.p95, 1), samples: signIns.length },
    token_check_us: {
      jwt: round(jwtUs),
      owner_token: round(ownerUs),
      ratio: round(jwtUs / ownerUs, 1),
      samples: checks,
    },
    request_ms: {
      bearer_jwt_p50: round(bearer.p50, 3),
      owner_token_p50: round(owner.p50, 3),
      ratio: round(bearer.p50 / owner.p50, 2),
    },
  };
  console.log(JSON.stringify(result));
  console.log('');
  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(
    `| sign-in (name + password, HTTP) p50 / p95 | ${result.sign_in_ms.p50} ms / ${result.sign_in_ms.p95} ms |`,
  );
  console.log(`| access JWT check (jose HS256, key imported once) | ${result.token_check_us.jwt} µs |`);
  console.log(`| owner token compare (peer) | ${result.token_check_us.owner_token} µs |`);
  console.log(
    `| GET /api/v1/session p50, Bearer JWT vs owner token | ${result.request_ms.bearer_jwt_p50} ms vs ${result.request_ms.owner_token_p50} ms (×${result.request_ms.ratio}) |`,
  );
} finally {
  await runtime.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
}
