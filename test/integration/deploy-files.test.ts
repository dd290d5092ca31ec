import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseAddressOrCidr } from '../../src-main/config.ts';
import { proxyTrust } from '../../src-main/access/client-address.ts';
import { startRuntime } from '../helpers/runtime.ts';

// No container daemon runs here, so the Dockerfile and docker-compose.yml are checked for
// what they promise (docs/team-mode.md), and the one command the image runs on its own,
// the HEALTHCHECK, is run for real against a real server.

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of each stage, by stage name. */
function stages(list: Instruction[]): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const instruction of list) {
    if (instruction.keyword === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(instruction.args)?.[1] ?? `stage${out.size}`;
      current = [instruction];
      out.set(name, current);
    } else current?.push(instruction);
  }
  return out;
}

const dockerfile = instructions(read('Dockerfile'));
const byStage = stages(dockerfile);
const runtimeStage = [...byStage.values()].at(-1)!;
const argOf = (name: string) =>
  dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith(`${name}=`))?.args.slice(name.length + 1);

describe('Dockerfile', () => {
  it('builds in stages on Node 24 and ships only production dependencies and the build', () => {
    expect(byStage.size).toBeGreaterThanOrEqual(3);
    expect(argOf('NODE_IMAGE')).toMatch(/^node:24[.-]/);
    for (const [name, list] of byStage) expect(list[0]!.args, name).toMatch(/^\$\{NODE_IMAGE\}/);

    const build = byStage.get('build')!;
    expect(build.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args) && !/--omit=dev/.test(i.args))).toBe(
      true,
    );
    expect(build.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args))).toBe(true);
    // Whatever script `npm run build` runs is copied into the build stage (the server bundle's).
    const buildScript = (JSON.parse(read('package.json')) as { scripts: { build: string } }).scripts.build;
    const scripts = [...buildScript.matchAll(/\bnode (\S+\.ts)\b/g)].map((match) => match[1]!);
    expect(scripts).toContain('build/bundle-server.ts');
    const copied = build.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(' ')[0]!);
    for (const script of scripts) expect(copied, script).toContain(script);
    // …and not left out of the build context (.dockerignore drops build/ but for it).
    const ignored = read('.dockerignore').split('\n');
    for (const script of scripts) {
      if (ignored.includes(script.split('/')[0]!)) expect(ignored, script).toContain(`!${script}`);
    }
    const deps = byStage.get('prod-deps')!;
    expect(deps.some((i) => i.keyword === 'RUN' && /npm ci .*--omit=dev/.test(i.args))).toBe(true);

    const copies = runtimeStage.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=prod-deps /app/node_modules ./node_modules');
    expect(copies).toContain('--from=build /app/dist ./dist');
    // No sources, no dev dependencies: nothing from the build context but these.
    const fromContext = copies.filter((c) => !c.startsWith('--from')).flatMap((c) => c.split(' ').slice(0, -1));
    expect(fromContext.sort()).toEqual(['bin', 'package-lock.json', 'package.json', 'proto']);
    // What the server reads at run time besides dist/: its launcher and the OTLP schemas.
    for (const needed of fromContext) expect(fs.existsSync(path.join(root, needed)), needed).toBe(true);
  });

  it('runs as an unprivileged user, the workspace a volume, bound for the container network', () => {
    const user = runtimeStage.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(runtimeStage.find((i) => i.keyword === 'VOLUME')?.args).toContain('/workspace');
    const env = runtimeStage
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/LOOKOUT_WORKSPACE=\/workspace/);
    expect(env).toMatch(/LOOKOUT_HOST=0\.0\.0\.0/);
    expect(env).toMatch(/LOOKOUT_ALLOW_REMOTE=1/);
    expect(runtimeStage.find((i) => i.keyword === 'ENTRYPOINT')?.args).toMatch(/tini.*lookout/);
    expect(runtimeStage.find((i) => i.keyword === 'CMD')?.args).toBe('["serve"]');
  });

  it("has a HEALTHCHECK on /health that passes against a live server and fails when it's gone", async () => {
    const healthcheck = runtimeStage.find((i) => i.keyword === 'HEALTHCHECK')!;
    const command = JSON.parse(/CMD\s+(\[.*\])$/.exec(healthcheck.args)![1]!) as string[];
    expect(command[0]).toBe('node');
    expect(command.join(' ')).toContain('/health');
    // Asynchronously: the server answering it runs in this very process.
    const status = (port: number) =>
      new Promise<{ status: unknown; stderr: string }>((resolve) => {
        const env = { ...process.env, LOOKOUT_PORT: String(port) };
        execFile(process.execPath, command.slice(1), { env }, (error, _stdout, stderr) =>
          resolve({ status: error ? error.code : 0, stderr }),
        );
      });

    const runtime = await startRuntime();
    expect(await status(runtime.port)).toEqual({ status: 0, stderr: '' });
    await runtime.stop();
    expect(await status(runtime.port)).toEqual({ status: 1, stderr: '' });
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining(['.git', '.lookout', '**/.lookout', 'node_modules', 'dist', '.tools']),
    );
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  networks?: Record<string, { ipv4_address?: string } | null>;
}

/** What compose does with ${NAME}, ${NAME:-default} and ${NAME:?error}, for a given environment. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_all, name: string, kind?: string, rest?: string) => {
    const value = env[name];
    if (value) return value;
    if (kind === '?') throw new Error(`${name}: ${rest}`);
    return kind === '-' ? (rest ?? '') : '';
  });
}

describe('docker-compose.yml', () => {
  const env = { POSTGRES_PASSWORD: 's3cret' };
  const compose = load(interpolate(read('docker-compose.yml'), env)) as {
    services: Record<string, ComposeService>;
    networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
    volumes: Record<string, unknown>;
  };
  const { services } = compose;
  const lookouts = ['lookout-a', 'lookout-b'].map((name) => services[name]!);

  it('refuses to start without a database password, naming where to set it', () => {
    expect(() => interpolate(read('docker-compose.yml'), {})).toThrow(
      /POSTGRES_PASSWORD: set POSTGRES_PASSWORD in \.env/,
    );
  });

  it('runs PostgreSQL with a volume and a health check the servers wait for', () => {
    const postgres = services.postgres!;
    expect(postgres.image).toMatch(/^postgres:\d+/);
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    for (const lookout of lookouts) expect(lookout.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('runs two servers of one image on one database, each with its own workspace', () => {
    const [a, b] = lookouts;
    expect(a!.image).toBe(b!.image);
    expect(a!.build).toEqual(b!.build);
    for (const lookout of lookouts) {
      const url = new URL(lookout.environment!.LOOKOUT_DATABASE_URL!);
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('postgres');
      expect(url.pathname).toBe(`/${services.postgres!.environment!.POSTGRES_DB}`);
      expect(url.username).toBe(services.postgres!.environment!.POSTGRES_USER);
      expect(url.password).toBe(env.POSTGRES_PASSWORD);
      expect(services.postgres!.environment!.POSTGRES_PASSWORD).toBe(env.POSTGRES_PASSWORD);
      // Only the proxy is published: servers and database stay on the internal network.
      expect(lookout.ports).toBeUndefined();
    }
    expect(services.postgres!.ports).toBeUndefined();
    const workspaces = lookouts.map((l) => l.volumes!.find((v) => v.endsWith(':/workspace')));
    expect(new Set(workspaces).size).toBe(2);
    for (const volume of workspaces) expect(Object.keys(compose.volumes)).toContain(volume!.split(':')[0]);
  });

  it('puts Caddy in front at a fixed address that the servers, and only they, trust', () => {
    const caddy = services.caddy!;
    expect(caddy.image).toMatch(/^caddy:2/);
    expect(caddy.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(caddy.ports).toEqual(expect.arrayContaining(['80:80', '443:443']));
    const [network, settings] = Object.entries(caddy.networks!)[0]!;
    const address = settings!.ipv4_address!;
    const subnet = compose.networks[network]!.ipam.config[0]!.subnet;
    const inSubnet = proxyTrust({ trustProxy: false, trustedProxies: [subnet] });
    expect(inSubnet(address), `${address} in ${subnet}`).toBe(true);
    for (const lookout of lookouts) {
      const trusted = lookout.environment!.LOOKOUT_TRUSTED_PROXIES!.split(',');
      expect(trusted).toEqual([address]);
      expect(trusted.every((entry) => parseAddressOrCidr(entry)?.prefix === undefined)).toBe(true);
      expect(lookout.environment!.LOOKOUT_CORS_ORIGINS).toMatch(/^https:\/\//);
    }
  });

  it("matches the Caddyfile's upstreams to the servers' names and the image's port", () => {
    const caddyfile = read('Caddyfile');
    const upstreams = /reverse_proxy \{\$LOOKOUT_UPSTREAMS:([^}]+)\}/.exec(caddyfile)![1]!.split(' ');
    const port = runtimeStage
      .filter((i) => i.keyword === 'ENV')
      .map((i) => /LOOKOUT_PORT=(\d+)/.exec(i.args)?.[1])
      .find(Boolean);
    expect(upstreams).toEqual([`lookout-a:${port}`, `lookout-b:${port}`]);
    expect(caddyfile).toContain(`Host 127.0.0.1:{$LOOKOUT_PORT:${port}}`);
  });
});
