/**
 * PRIVATE PostgreSQL and Redis servers for failure tests (issue 4): each test that restarts
 * a server starts its own, on a free port under a temp dir, so a restart can never disturb
 * the shared 127.0.0.1:5432 / :6379 servers other tests run against in parallel.
 *
 * - PostgreSQL: `initdb` into a temp dir, `pg_ctl start` on a free port (TCP on 127.0.0.1,
 *   socket in the temp dir). As root, both run through `runuser -u postgres` (initdb
 *   refuses root); the temp dir is chowned to postgres.
 * - Redis: `redis-server` as a child process on a free port, `--save "" --appendonly no`.
 * - NATS: `nats-server -js` as a child process on a free port, its JetStream store in a
 *   temp dir that survives its restarts (streams and consumers are kept, as on a real
 *   server restart).
 *
 * Policy (as test/support/backends.ts): when the binaries are missing, a CI run
 * (`CI=true`) FAILS; elsewhere the tests are skipped with a loud banner.
 * Every started server is stopped when the test process exits, even on a crash.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/bench/procs.js';
import { postgresAvailable, redisAvailable } from './backends.js';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const out = r.stdout.trim();
  return r.status === 0 && out ? out : undefined;
}

/** The nats-server binary, or undefined. */
export function findNatsServer(): string | undefined {
  if (existsSync('/usr/sbin/nats-server')) return '/usr/sbin/nats-server';
  return which('nats-server');
}

/** The directory holding `initdb`, `pg_ctl` and `postgres`, or undefined. */
export function findPostgresBinDir(): string | undefined {
  const candidates: string[] = [];
  // DGW_TEST_PG_BINDIR names the directory; set to a missing one, the binaries count as missing.
  if (process.env.DGW_TEST_PG_BINDIR !== undefined) {
    const dir = process.env.DGW_TEST_PG_BINDIR;
    return ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b))) ? dir : undefined;
  }
  const pgConfig = which('pg_config');
  if (pgConfig) {
    const r = spawnSync(pgConfig, ['--bindir'], { encoding: 'utf8' });
    if (r.status === 0) candidates.push(r.stdout.trim());
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian layout
  }
  for (const dir of candidates) {
    if (['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)))) return dir;
  }
  return undefined;
}

/** The redis-server binary, or undefined. */
export function findRedisServer(): string | undefined {
  const configured = process.env.DGW_TEST_REDIS_SERVER;
  if (configured !== undefined) return existsSync(configured) ? configured : undefined;
  return which('redis-server');
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function banner(lines: string[]): string {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const rule = '!'.repeat(width);
  return ['', rule, ...lines.map((l) => `! ${l.padEnd(width - 4)} !`), rule, ''].join('\n');
}

/** What a private-server test passes to `describe(name, { skip }, ...)`. */
export interface PrivateGate {
  skip: string | false;
}

/**
 * The policy for tests that need private servers (`private`) and, optionally, the shared
 * ones (`shared`, checked with backends.ts's probes). Missing: CI=true registers a failing
 * test; elsewhere a loud banner and a skip.
 */
export async function privateServersTest(needs: { private: ('postgres' | 'redis' | 'nats')[]; shared?: ('postgres' | 'redis')[] }): Promise<PrivateGate> {
  const missing: string[] = [];
  if (needs.private.includes('nats') && !findNatsServer()) missing.push('nats-server is not installed');
  if (needs.private.includes('postgres') && !findPostgresBinDir()) missing.push('PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed');
  if (needs.private.includes('postgres') && isRoot && !which('runuser')) missing.push('running as root needs runuser to start PostgreSQL as user postgres');
  if (needs.private.includes('redis') && !findRedisServer()) missing.push('redis-server is not installed');
  if (needs.shared?.includes('postgres') && !(await postgresAvailable())) missing.push('the shared PostgreSQL is not reachable');
  if (needs.shared?.includes('redis') && !(await redisAvailable())) missing.push('the shared Redis is not reachable');
  if (missing.length === 0) return { skip: false };
  const reason = missing.join('; ');
  if (process.env.CI === 'true') {
    test('servers for the failure tests are available (required when CI=true)', () => {
      throw new Error(`${reason}: CI requires them (see .ci/run and docs/backends.md)`);
    });
  } else {
    console.warn(banner(['SKIPPING FAILURE TESTS WITH PRIVATE SERVERS', ...missing, 'With CI=true this is a failure, not a skip.']));
  }
  return { skip: reason };
}

// Servers still running when the process exits are stopped (synchronously) here.
const exitHooks = new Set<() => void>();
process.once('exit', () => {
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // best effort
    }
  }
});

function runChecked(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
}

async function runAsync(cmd: string, args: string[], timeoutMs = 60_000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? sig}): ${out}`));
    });
  });
}

/** A private PostgreSQL cluster in a temp dir. */
export class PrivatePostgres {
  readonly url: string;
  private readonly dataDir: string;
  private readonly exitHook: () => void;

  private constructor(
    private readonly binDir: string,
    private readonly dir: string,
    readonly port: number,
  ) {
    this.dataDir = join(dir, 'data');
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    this.exitHook = () => {
      spawnSync(...this.cmd('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']), { timeout: 10_000 });
      rmSync(this.dir, { recursive: true, force: true });
    };
  }

  /** initdb + start on a free port. */
  static async start(): Promise<PrivatePostgres> {
    const binDir = findPostgresBinDir();
    if (!binDir) throw new Error('PostgreSQL server binaries not found');
    const dir = mkdtempSync(join(tmpdir(), 'dgw-pg-'));
    if (isRoot) {
      const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
    }
    const pg = new PrivatePostgres(binDir, dir, await freePort());
    exitHooks.add(pg.exitHook);
    runChecked(...pg.cmd('initdb', ['-D', pg.dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']));
    await pg.startServer();
    return pg;
  }

  private cmd(bin: string, args: string[]): [string, string[]] {
    const path = join(this.binDir, bin);
    return isRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  }

  private options(): string {
    return `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=60 -c shared_buffers=32MB`;
  }

  /** Starts the stopped server; resolves once it accepts connections. */
  async startServer(): Promise<void> {
    await runAsync(...this.cmd('pg_ctl', ['-D', this.dataDir, '-o', this.options(), '-l', join(this.dir, 'log'), '-w', '-t', '30', 'start']));
  }

  /** Stops the server (`fast`: terminates sessions, rolls back open transactions, clean checkpoint). */
  async stopServer(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await runAsync(...this.cmd('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '30', 'stop']));
  }

  /** Stops and removes the cluster. */
  async close(): Promise<void> {
    exitHooks.delete(this.exitHook);
    await this.stopServer('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What differs between the private servers run as child processes. */
export interface ChildServerSpec {
  /** The binary's name (messages). */
  name: string;
  /** Where the binary is; undefined when it is not installed. */
  find(): string | undefined;
  /** URL scheme of `url`. */
  scheme: string;
  /** Arguments of a server on `port` (127.0.0.1) keeping its files in `dir`. */
  argv(port: number, dir: string): string[];
  /** Output that says the server accepts clients. */
  ready: RegExp;
  startTimeoutMs: number;
  /** The signal of `stopServer()` without one. */
  stopSignal: NodeJS.Signals;
}

/**
 * A private server run as a child process on a free port of 127.0.0.1, with a temp dir
 * of its own that outlives its restarts. `close()`, or the exit of the test process,
 * kills it and removes the dir. What differs per server is its {@link ChildServerSpec}.
 */
export class PrivateChildServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private readonly dir: string;
  private readonly exitHook: () => void;

  private constructor(
    private readonly spec: ChildServerSpec,
    private readonly bin: string,
    readonly port: number,
  ) {
    this.url = `${spec.scheme}://127.0.0.1:${port}`;
    this.dir = mkdtempSync(join(tmpdir(), `dgw-${spec.scheme}-`));
    this.exitHook = () => {
      this.child?.kill('SIGKILL');
      rmSync(this.dir, { recursive: true, force: true });
    };
    exitHooks.add(this.exitHook);
  }

  /** Finds the binary and starts the server on a free port. */
  static async start(spec: ChildServerSpec): Promise<PrivateChildServer> {
    const bin = spec.find();
    if (!bin) throw new Error(`${spec.name} not found`);
    const server = new PrivateChildServer(spec, bin, await freePort());
    await server.startServer();
    return server;
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server (same port, same dir); resolves once it is ready for clients. */
  async startServer(): Promise<void> {
    const { name, ready, startTimeoutMs } = this.spec;
    if (this.child) throw new Error(`${name} already running`);
    const child = spawn(this.bin, this.spec.argv(this.port, this.dir), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start in ${startTimeoutMs / 1000}s:\n${out}`)), startTimeoutMs);
      const onData = (c: Buffer) => {
        out += c.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        reject(new Error(`${name} exited (${code}):\n${out}`));
      });
    });
  }

  /** Stops the server by its pid with `signal` (the server's default when absent). */
  async stopServer(signal: NodeJS.Signals = this.spec.stopSignal): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Kills the server and removes its dir. */
  async close(): Promise<void> {
    exitHooks.delete(this.exitHook);
    await this.stopServer('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const REDIS: ChildServerSpec = {
  name: 'redis-server',
  find: findRedisServer,
  scheme: 'redis',
  argv: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
  ready: /Ready to accept connections/,
  startTimeoutMs: 15_000,
  // No persistence either way: a kill is the crash the tests want.
  stopSignal: 'SIGKILL',
};

/** A private redis-server child process (no persistence); `stopServer()` kills it. */
export type PrivateRedis = PrivateChildServer;
export const PrivateRedis = { start: (): Promise<PrivateRedis> => PrivateChildServer.start(REDIS) };

const NATS: ChildServerSpec = {
  name: 'nats-server',
  find: findNatsServer,
  scheme: 'nats',
  argv: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
  ready: /Server is ready/,
  startTimeoutMs: 30_000,
  stopSignal: 'SIGTERM',
};

/**
 * A private nats-server child process with JetStream; its store dir outlives restarts.
 * `stopServer()` is a clean shutdown (SIGTERM) unless told SIGKILL.
 */
export type PrivateNats = PrivateChildServer;
export const PrivateNats = { start: (): Promise<PrivateNats> => PrivateChildServer.start(NATS) };
