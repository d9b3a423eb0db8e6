/**
 * `dgw serve --workers N` (issue 9, server/workers.ts) with real processes:
 *
 * - On PostgreSQL + Redis, two workers share one port: AddCount with idempotency tokens
 *   (some re-sent on another connection, so possibly to the other worker) gives the exact
 *   count of the oracle; GET /metrics shows both workers' figures (label `worker`), and
 *   both served AddCounts; SIGTERM drains both and the primary exits 0 with no worker left.
 * - On embedded SQLite, `--workers 2` is refused at start with a message saying why.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendTest, deleteRedisPrefix, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { CounterOracle, isoMicros, nowMicros } from '../support/dgw-load.js';
import { childPids } from '../../src/bench/procs.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

/** Whether process `pid` runs dgw's CLI (a worker forked by the primary). */
function runsServeScript(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli/main');
  } catch {
    return false; // gone meanwhile
  }
}

const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const skip = pgGate.skip || redisGate.skip;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * One call on a connection of its own (no keep-alive pool): the cluster hands each new
 * connection to the next worker, so calls spread over the workers.
 */
function callFresh(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      { method, agent: false, headers: { connection: 'close', ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path}: no answer in 15 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('dgw serve --workers 2 on PostgreSQL + Redis', { skip }, () => {
  const schema = uniqueName('dgw_workers');
  const keyPrefix = `${schema}:`;
  let dir: string;
  let server: ServerProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-workers-'));
    const config = join(dir, 'dgw.json');
    writeFileSync(
      config,
      JSON.stringify({
        clusters: [
          { name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 4 },
          { name: 'cache', type: 'REDIS', url: redisGate.url, keyPrefix },
        ],
      }),
    );
    // Resolves on the primary's "serving on … with 2 workers": both workers serve.
    server = await spawnServer(join(dir, 'data'), ['--config', config, '--workers', '2'], { env: { DGW_V8_PRETENURING: '' } });
  });

  after(async () => {
    if (server && server.child.exitCode === null) await server.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
  });

  it('counts exactly across both workers, reports both in /metrics, and stops on SIGTERM with exit 0', async () => {
    const s = server!;
    const primary = s.child.pid!;
    // Only the forked workers (they run the serve script); tsx's esbuild service, a child
    // of the primary while it compiles, is not one of them.
    const workers = childPids(primary).filter((pid) => runsServeScript(pid));
    assert.equal(workers.length, 2, `two worker processes under the primary: ${s.output()}`);

    const ns = uniqueName('wk_acc');
    const created = await callFresh(s.url, 'PUT', `/v1/counter/namespaces/${ns}`, {
      persistence_configuration: [
        { id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE', skew_margin: '500ms' } },
        { id: 'EVENT_STORAGE', config: { accept_limit: '10s' } },
      ],
    });
    assert.equal(created.status, 201, created.text);

    const oracle = new CounterOracle();
    const counters = ['a', 'b'];
    type Add = { counter: string; token: string; time: number; delta: bigint };
    const adds: Add[] = Array.from({ length: 40 }, (_, i) => ({ counter: counters[i % 2]!, token: `t${i}`, time: nowMicros() + i, delta: BigInt(i + 1) }));
    // Every tenth add is sent twice (a retry after a lost answer): counted once.
    const sends = [...adds, ...adds.filter((_, i) => i % 10 === 0)];
    for (let i = 0; i < sends.length; i += 8) {
      await Promise.all(
        sends.slice(i, i + 8).map(async (a) => {
          const body = { namespace: ns, counter_name: a.counter, delta: a.delta.toString(), idempotency_token: { token: a.token, generation_time: isoMicros(a.time) } };
          // The namespace may not yet be known to a worker that never read it: NOT_FOUND is
          // not cached, so a retry finds it (docs/namespaces.md "Several instances").
          let r = await callFresh(s.url, 'POST', '/v1/counter/AddCount', body);
          for (let tries = 0; r.status === 404 && tries < 20; tries++) r = await callFresh(s.url, 'POST', '/v1/counter/AddCount', body);
          assert.equal(r.status, 200, r.text);
          oracle.add(a.counter, a.token, a.time, a.delta);
        }),
      );
    }
    for (const c of counters) {
      for (let k = 0; k < 4; k++) {
        const r = await callFresh(s.url, 'POST', '/v1/counter/GetCount', { namespace: ns, counter_name: c });
        assert.equal(r.status, 200, r.text);
        assert.equal(BigInt((JSON.parse(r.text) as { count: string }).count), oracle.count(c), `counter ${c}, call ${k}`);
      }
    }

    // Every worker's figures, each labelled with its worker id.
    const metrics = await callFresh(s.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    const addsByWorker = new Map<string, number>();
    for (const line of metrics.text.split('\n')) {
      const m = /^dgw_http_requests_total\{(.*)\} (\d+)$/.exec(line);
      if (!m || !m[1]!.includes('route="/v1/counter/AddCount"') || !m[1]!.includes('code="200"')) continue;
      const worker = /worker="(\d+)"/.exec(m[1]!)?.[1];
      assert.ok(worker, `a worker label on ${line}`);
      addsByWorker.set(worker, (addsByWorker.get(worker) ?? 0) + Number(m[2]));
    }
    assert.equal(addsByWorker.size, 2, `both workers served AddCount: ${JSON.stringify([...addsByWorker])}`);
    assert.equal([...addsByWorker.values()].reduce((a, b) => a + b, 0), sends.length, 'every AddCount counted once, by one worker');
    assert.equal((metrics.text.match(/^dgw_build_info\{/gm) ?? []).length, 2, 'one dgw_build_info per worker');

    // Exit 0 means every worker exited 0 (the primary exits 1 otherwise).
    assert.equal(await s.stop('SIGTERM'), 0, `graceful stop exits 0: ${s.output().slice(-2000)}`);
    for (const pid of workers) assert.ok(!alive(pid), `worker ${pid} is gone`);
    // 'exit' may come before the last output: read the log once the pipe closed.
    const stdout = s.child.stdout!;
    if (!stdout.closed) await new Promise((resolve) => stdout.once('close', resolve));
    assert.match(s.output(), /worker \d+ stopped \(code 0\)[\s\S]*worker \d+ stopped \(code 0\)/);
    // Shared stores: each worker set the flag that turns V8's allocation-site pretenuring off (v8-flags.ts).
    assert.equal((s.output().match(/"v8Pretenuring":"off","v8Flags":\["--no-allocation-site-pretenuring"\]/g) ?? []).length, 2, 'both workers run without pretenuring');
  });
});

describe('dgw serve --workers on embedded SQLite', () => {
  it('is refused at start with a message naming the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dgw-workers-sqlite-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dir, '--workers', '2'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 1, output);
      assert.match(output, /--workers 2: embedded SQLite serves from one process only/);
      assert.match(output, /--postgres-url/);
      assert.doesNotMatch(output, /serving on/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
