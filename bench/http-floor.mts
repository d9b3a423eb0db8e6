/**
 * The floor under dgw's per-request CPU (issue 9): the server CPU per request of a bare
 * route answering a counter-shaped POST, measured the way `dgw bench` measures dgw (server
 * in its own process, its utime + stime from /proc, undici client with keep-alive at the
 * same concurrency). What no change inside dgw can go below on this machine with one Node
 * process, by HTTP engine:
 *
 *   node      node:http: the bare route (what dgw's fast path runs on)
 *   fastify   a Fastify route
 *   uws       uWebSockets.js, a native HTTP server (C++), when it is installed (below)
 *   node-add  node:http + the hand-written durable add of the bench's floor
 *             (src/bench/floor-sqlite.ts: group commit per event-loop turn, synchronous=FULL)
 *   uws-add   the same add behind uWebSockets.js
 *   redis-get, redis-incrby
 *             Redis GET / INCRBY on the bench's 100 keys, one ioredis connection per loop
 *             (`dgw bench`'s redis.* operations; the keys are set first), server CPU of the
 *             local redis-server: the ratios' denominators, driven from this same client
 *             process; `skipped` when Redis does not answer
 *
 * Every kind is driven by the bench's own client operation (src/bench/ops.ts `createOp`:
 * undici keep-alive, one request in flight per connection, AddCount's body with a token,
 * over 100 counters), so the client side is the bench's.
 *
 * The adds' table is `--layout append` (a rowid table, no dedupe: the least a durable add
 * costs) or `--layout ordered` (key (counter, token's generation time, token), first write
 * wins: a counter's rows together and a retry stored once, as dgw's slice table keeps
 * them; src/bench/floor-sqlite.ts).
 *
 * uWebSockets.js is published on GitHub only, so it is not a dependency of dgw; these rows
 * run when an npm repack of it is installed beside the project, without saving it:
 *
 *   npm install --no-save @trufflesuite/uws-js-unofficial@20.30.0-unofficial.0
 *   node --import tsx bench/http-floor.mts [--requests 40000] [--concurrency 50] [--rounds 1]
 *                                          [--layout append|ordered] [--redis-url URL] [KIND ...]
 *
 * Each row's req/s is this one client process's closed loops: on two cores it bounds the
 * rate of a cheap server, so compare CPU per request across engines, and rates with the
 * Redis rows of the same run.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { answer, openFloorSqlite, readBody, type FloorAddLayout, type FloorReply } from '../src/bench/floor-sqlite.js';
import { redisUnreachable } from '../src/bench/baselines.js';
import { createOp, type Op } from '../src/bench/ops.js';
import { cpuMs, pidsByName } from '../src/bench/procs.js';

/** The npm repack of uWebSockets.js these rows use, when installed (the header). */
const UWS_PACKAGE = '@trufflesuite/uws-js-unofficial';

const KINDS = ['node', 'fastify', 'uws', 'node-add', 'uws-add', 'redis-get', 'redis-incrby'] as const;
type Kind = (typeof KINDS)[number];

/** The part of uWebSockets.js's API used here (the repack ships no types this project checks). */
interface UwsResponse {
  onAborted(handler: () => void): UwsResponse;
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): UwsResponse;
  cork(fn: () => void): UwsResponse;
  writeStatus(status: string): UwsResponse;
  writeHeader(key: string, value: string): UwsResponse;
  end(body?: string): UwsResponse;
}
interface UwsApp {
  post(pattern: string, handler: (res: UwsResponse) => void): UwsApp;
  listen(host: string, port: number, cb: (token: unknown) => void): UwsApp;
}
interface UwsModule {
  App(): UwsApp;
  /** Only in the native build: the repack falls back to a node:http shim without a binary for this Node. */
  H3App?: unknown;
  us_socket_local_port(token: unknown): number;
}

/** Whether the repack is installed (resolved, not loaded: the client process stays free of it). */
function uwsInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(UWS_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/** The native uWebSockets.js; throws when the repack would serve its node:http fallback instead. */
function loadUws(): UwsModule {
  const uws = createRequire(import.meta.url)(UWS_PACKAGE) as UwsModule;
  if (typeof uws.H3App !== 'function') throw new Error(`${UWS_PACKAGE} has no native build for this Node (ABI ${process.versions.modules}): it would measure its node:http fallback`);
  return uws;
}

/** The bare route's answer: parse the body, answer one field (as the bench's floor.node_http). */
function bareAnswer(text: string): string {
  const body = JSON.parse(text) as { counter_name?: string };
  return JSON.stringify({ count: String(body.counter_name?.length ?? 0) });
}

/** Serves `kind` on a free port and sends the port to the parent. */
async function serve(kind: Kind, layout: FloorAddLayout, dir: string): Promise<void> {
  const add = kind.endsWith('-add') ? openFloorSqlite(join(dir, 'floor.db'), { addLayout: layout }) : undefined;
  if (kind === 'node' || kind === 'node-add') {
    const server = createServer((req, res) =>
      readBody(req, (text) => {
        if (add) add.add(text, (status, body) => answer(res, status, body));
        else answer(res, 200, bareAnswer(text));
      }),
    );
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
    return;
  }
  if (kind === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    app.post('/v1/counter/AddCount', async (req) => ({ count: String((req.body as { counter_name?: string }).counter_name?.length ?? 0) }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.send?.((app.server.address() as { port: number }).port);
    return;
  }
  const uws = loadUws();
  uws
    .App()
    .post('/*', (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      // The reply batches status, headers and body into one write (cork), as node:http does.
      const reply: FloorReply = (status, body) => {
        if (!aborted) res.cork(() => res.writeStatus(status === 200 ? '200 OK' : `${status} Error`).writeHeader('content-type', 'application/json').end(body));
      };
      res.onData((chunk, isLast) => {
        // uWebSockets.js reuses the chunk's memory after the callback: copy it.
        chunks.push(Buffer.from(chunk.slice(0)));
        if (!isLast) return;
        const text = Buffer.concat(chunks).toString('utf8');
        if (add) add.add(text, reply);
        else reply(200, bareAnswer(text));
      });
    })
    .listen('127.0.0.1', 0, (token) => {
      if (!token) throw new Error('uWebSockets.js could not listen');
      process.send?.(uws.us_socket_local_port(token));
    });
}

/** One row: rate, the server's CPU per request and this client process's. */
function report(label: string, n: number, seconds: number, serverCpuMs: number, client: NodeJS.CpuUsage, note: string): void {
  const rate = Math.round(n / seconds).toLocaleString('en-US').padStart(8);
  const server = ((serverCpuMs * 1000) / n).toFixed(1).padStart(5);
  const clientUs = ((client.user + client.system) / n).toFixed(1).padStart(5);
  console.log(`${label.padEnd(18)} ${rate} req/s  server CPU ${server} µs/req  client CPU ${clientUs} µs/req${note}`);
}

/** CPU time of `pid` so far, ms; throws when it is gone (the figure would be wrong). */
function cpuOf(pid: number): number {
  const ms = cpuMs(pid);
  if (ms === undefined) throw new Error(`process ${pid} is gone`);
  return ms;
}

/**
 * Drives `op` (the bench's own client operation, ops.ts) from `concurrency` loops: a
 * warm-up, then `n` requests; reports the rate, `serverPid`'s CPU and this process's.
 */
async function drive(label: string, op: Op, serverPid: number, n: number, concurrency: number): Promise<void> {
  let failed = 0;
  const run = async (count: number) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, loop) => {
        while (i++ < count) if ((await op.run(loop)) !== 'ok') failed++;
      }),
    );
  };
  await run(Math.min(5000, n)); // warm-up
  failed = 0;
  const cpu0 = cpuOf(serverPid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await run(n);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuOf(serverPid) - cpu0;
  const errors = failed > 0 ? `  ${failed} requests failed or not 2xx (${op.lastError ?? 'no message'})` : '';
  report(label, n, seconds, cpu, process.cpuUsage(client0), errors);
}

/** An HTTP kind: its server in a child process, driven with the bench's AddCount requests (tokens, 100 counters). */
async function measure(kind: Kind, layout: FloorAddLayout, n: number, concurrency: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dgw-http-floor-'));
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind, layout, dir], { execArgv: ['--import', 'tsx'] });
  let op: Op | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve(m as number));
      child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
    });
    const body = { gen: 'addCount', namespace: 'bench', counters: 100, token: true } as const;
    op = await createOp({ kind: 'http', origin: `http://127.0.0.1:${port}`, path: '/v1/counter/AddCount', body }, concurrency, 'floor');
    await drive(kind.endsWith('-add') ? `${kind} (${layout})` : kind, op, child.pid!, n, concurrency);
  } finally {
    await op?.close();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Redis GET or INCRBY as the bench's redis.* rows run them (ops.ts: one connection per
 * loop, 100 keys, set first as the bench's INCRBY row sets them before GET); CPU of the
 * local redis-server process (found by name, as the bench does). `skipped` when Redis does
 * not answer.
 */
async function measureRedis(kind: 'redis-get' | 'redis-incrby', url: string, n: number, concurrency: number): Promise<void> {
  const down = await redisUnreachable(url);
  if (down) {
    console.log(`${kind.padEnd(18)} skipped: ${down}`);
    return;
  }
  const pids = pidsByName('redis-server');
  if (pids.length !== 1) {
    console.log(`${kind.padEnd(18)} skipped: ${pids.length} local redis-server processes, so no server CPU to read`);
    return;
  }
  const op = await createOp({ kind: 'redis', url, command: kind === 'redis-get' ? 'get' : 'incrby', keys: 100 }, concurrency, 'floor');
  try {
    const setter = new Redis(url, { maxRetriesPerRequest: 0 });
    try {
      for (let k = 0; k < 100; k++) await setter.set(`dgwbench:c${k}`, '0', 'NX');
    } finally {
      setter.disconnect();
    }
    await drive(kind, op, pids[0]!, n, concurrency);
  } finally {
    await op.close();
  }
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as Kind, process.argv[4] as FloorAddLayout, process.argv[5] ?? tmpdir());
} else {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', default: '40000' },
      concurrency: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '1' },
      layout: { type: 'string', default: 'append' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
  });
  const layout = values.layout as FloorAddLayout;
  if (layout !== 'append' && layout !== 'ordered') throw new Error(`--layout: append or ordered, not ${layout}`);
  const kinds = (positionals.length > 0 ? positionals : ['node', 'fastify']) as Kind[];
  for (const k of kinds) if (!KINDS.includes(k)) throw new Error(`unknown kind ${k} (${KINDS.join(', ')})`);
  const uws = uwsInstalled();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const kind of kinds) {
      if (kind.startsWith('uws') && !uws) {
        console.log(`${kind.padEnd(18)} skipped: ${UWS_PACKAGE} is not installed (npm install --no-save ${UWS_PACKAGE}@20.30.0-unofficial.0)`);
        continue;
      }
      if (kind === 'redis-get' || kind === 'redis-incrby') {
        await measureRedis(kind, values['redis-url'], Number(values.requests), Number(values.concurrency)).catch((err: unknown) => {
          console.log(`${kind.padEnd(18)} failed: ${err instanceof Error ? err.message : String(err)}`);
        });
        continue;
      }
      await measure(kind, layout, Number(values.requests), Number(values.concurrency)).catch((err: unknown) => {
        console.log(`${kind.padEnd(18)} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
  }
}
