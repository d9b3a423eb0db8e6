/**
 * Packaging (issue 11): the engines field tells the truth about what the production
 * dependencies need, and the Dockerfile, compose file and systemd unit agree with the
 * package (same entry point, both stores wired). `docker compose config` runs where the
 * compose plugin exists; elsewhere the YAML is parsed and checked here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

/**
 * Production dependencies whose declared engines are stricter than ours, each with why
 * it still works on every Node that our range admits (kept in docs/operations.md too).
 */
const ENGINE_EXCEPTIONS: Record<string, string> = {
  // ESM-only, declares >=22; loaded through require(esm), unflagged since Node 20.19 and
  // 22.12, and only by light-my-request (fastify.inject, used by tests, not by `serve`).
  cookie: '2',
  // Declares >= 22.x; CommonJS whose only platform need is globalThis.crypto.getRandomValues
  // (Node >= 19). Loaded by the NATS client; the NATS tests run on Node 20 in CI.
  '@nats-io/nuid': '3',
};

/** Every package reachable from our production dependencies, with its engines.node. */
function productionTree(): { name: string; version: string; node?: string }[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '--long'], { cwd: ROOT, encoding: 'utf8' });
  const seen = new Map<string, { name: string; version: string; node?: string }>();
  for (const line of out.trim().split('\n').slice(1)) {
    const dir = line.split(':')[0]!;
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; engines?: { node?: string } };
    seen.set(`${meta.name}@${meta.version}`, { name: meta.name, version: meta.version, ...(meta.engines?.node ? { node: meta.engines.node } : {}) });
  }
  return [...seen.values()];
}

test('engines.node: the lowest Node of each admitted major satisfies every production dependency', () => {
  const range = new semver.Range(pkg.engines.node);
  const floors = range.set.map((comparators) => semver.minVersion(new semver.Range(comparators.map((c) => c.value).join(' ')))!.version);
  assert.ok(floors.length > 0);
  const violations: string[] = [];
  for (const dep of productionTree()) {
    if (!dep.node) continue;
    for (const floor of floors) {
      if (semver.satisfies(floor, dep.node)) continue;
      if (ENGINE_EXCEPTIONS[dep.name] === String(semver.major(dep.version))) continue;
      violations.push(`${dep.name}@${dep.version} needs node ${dep.node}, engines admits ${floor}`);
    }
  }
  assert.deepEqual(violations, []);
  assert.ok(semver.satisfies(process.version, pkg.engines.node), `this Node (${process.version}) is outside engines ${pkg.engines.node}`);
});

test('npm ci builds (prepare), npm start does not compile', () => {
  assert.match(pkg.scripts.prepare ?? '', /\bbuild\b/);
  assert.equal(pkg.scripts.prestart, undefined);
  assert.doesNotMatch(pkg.scripts.start ?? '', /tsc|build/);
  assert.equal(pkg.bin.dgw, 'dist/cli/main.js');
});

test('Dockerfile runs the package entry point and keeps only production dependencies', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  assert.match(text, new RegExp(`ENTRYPOINT \\["node", "${pkg.bin.dgw}"\\]`));
  assert.match(text, /npm ci\b/);
  assert.match(text, /npm prune --omit=dev/);
  // Everything the server reads at run time besides dist/: the protos and the status page.
  for (const dir of ['proto', 'ui']) assert.match(text, new RegExp(`COPY --from=build /app/${dir} \\./${dir}`), dir);
  const base = /FROM node:(\d+)/.exec(text);
  assert.ok(base && semver.satisfies(`${base[1]}.99.0`, pkg.engines.node), `base image node:${base?.[1]} outside engines`);
});

test('compose file: dgw on healthy PostgreSQL and Redis, URLs with the right schemes', () => {
  const doc = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
    services: Record<string, { command?: string[]; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; build?: string }>;
  };
  const { dgw, postgres, redis } = doc.services;
  assert.ok(dgw && postgres && redis, 'services dgw, postgres, redis');
  assert.ok(postgres.healthcheck && redis.healthcheck);
  assert.deepEqual(dgw.depends_on, { postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  const cmd = dgw.command ?? [];
  const flag = (name: string) => cmd[cmd.indexOf(name) + 1] ?? '';
  assert.equal(cmd[0], 'serve');
  assert.match(flag('--postgres-url'), /^postgres:\/\/[^@]+@postgres:5432\//);
  assert.match(flag('--redis-url'), /^redis:\/\/redis:6379$/);
  const docker = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (docker.status === 0) {
    const check = spawnSync('docker', ['compose', '-f', join(ROOT, 'compose.yaml'), 'config', '--quiet'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  }
});

test('systemd unit starts the built entry point and drains on SIGTERM', () => {
  const text = readFileSync(join(ROOT, 'deploy/dgw.service'), 'utf8');
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) sections.set(header[1]!, (current = new Map()));
    else {
      assert.ok(current, `key outside a section: ${line}`);
      const eq = line.indexOf('=');
      assert.ok(eq > 0, `not key=value: ${line}`);
      const key = line.slice(0, eq);
      current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  assert.deepEqual([...sections.keys()], ['Unit', 'Service', 'Install']);
  const service = sections.get('Service')!;
  assert.match(service.get('ExecStart')![0]!, new RegExp(`/${pkg.bin.dgw} serve$`));
  assert.equal(service.get('KillSignal')?.[0], 'SIGTERM');
  assert.ok(existsSync(join(ROOT, 'src/cli/main.ts')));
});
