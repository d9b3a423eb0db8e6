/**
 * Per-request CPU of the hot HTTP paths, in process: starts dgw (SQLite in a temp dir,
 * port 0), fires N requests per case with undici at a fixed concurrency, and prints the
 * process CPU (user + system, process.cpuUsage) per request. Client CPU (undici) is in the
 * figure too; it is the same before and after a server change, so compare differences.
 *
 * Each case runs REPEAT times after a warm-up; the lowest figure is printed (the machine's
 * other load only ever adds).
 *
 *   node --import tsx bench/http-overhead.mts [N=20000] [concurrency=16] [repeat=3] [case-name filter]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startServer } from '../src/server/runtime.js';

const N = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const REPEAT = Number(process.argv[4] ?? 3);
const FILTER = process.argv[5] ?? '';

const dir = mkdtempSync(join(tmpdir(), 'dgw-http-overhead-'));
const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: dir, lifecycleIntervalSeconds: 3600 });
const pool = new Pool(`http://127.0.0.1:${server.port}`, { connections: CONCURRENCY, pipelining: 1 });

async function call(method: 'PUT' | 'POST', path: string, body: string, expect?: number): Promise<number> {
  const res = await pool.request({ method, path, body, headers: { 'content-type': 'application/json' } });
  if (expect !== undefined && res.statusCode !== expect) throw new Error(`${path}: status ${res.statusCode} ${await res.body.text()}`);
  await res.body.dump();
  return res.statusCode;
}

async function setup(): Promise<void> {
  const c = await call('PUT', '/v1/counter/namespaces/bench_be', JSON.stringify({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'BEST_EFFORT' } }] }));
  // Bodies are built before a run starts, so their event times age during it: accept an hour.
  for (const type of ['EVENTUAL', 'ACCURATE']) {
    const ns = `bench_${type.toLowerCase()}`;
    if ((await call('PUT', `/v1/counter/namespaces/${ns}`, JSON.stringify({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] }))) >= 300) {
      throw new Error(`namespace setup failed: ${ns}`);
    }
  }
  const t = await call('PUT', '/v1/timeseries/namespaces/bench_ts', JSON.stringify({ persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '3600s' } }] }));
  if (c >= 300 || t >= 300) throw new Error(`namespace setup failed: ${c} ${t}`);
}

/** Runs `n` requests at CONCURRENCY; returns µs of process CPU and of wall time per request. */
async function run(n: number, make: (i: number) => { path: string; body: string }, expect: number): Promise<{ cpuUs: number; wallUs: number }> {
  const bodies = Array.from({ length: n }, (_, i) => make(i)); // built before the clock starts
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = bodies[i]!;
      // Token times must be inside the accept window when the request arrives.
      await call('POST', r.path, r.body.replace('"@now"', `"${new Date().toISOString()}"`), expect);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs: wall / n };
}

const value = Buffer.from('some value of a moderate length').toString('base64');
let seq = 0;
const batch = (size: number) => {
  const now = Date.now();
  const events = Array.from({ length: size }, (_, k) => ({
    timeSeriesId: `ts${k % 50}`,
    eventTime: new Date(now - (k % 1000)).toISOString(),
    eventId: `e${seq++}`,
    eventItems: [
      { eventItemKey: 'a', eventItemValue: value },
      { eventItemKey: 'b', eventItemValue: value },
    ],
  }));
  return JSON.stringify({ namespace: 'bench_ts', events });
};

/** An AddCount body with a fresh token; its time is taken when the request is sent (run() builds bodies lazily for these). */
let tokenSeq = 0;
/** Counters the counter cases spread over (env DGW_OVERHEAD_COUNTERS, default 100): fewer = more events per live window. */
const COUNTERS = Number(process.env.DGW_OVERHEAD_COUNTERS ?? 100);
const addBody = (ns: string, i: number) =>
  JSON.stringify({ namespace: ns, counter_name: `c${i % COUNTERS}`, delta: 1, idempotency_token: { token: `t${tokenSeq++}-${i}`, generation_time: '@now' } });

const cases: { name: string; n: number; make: (i: number) => { path: string; body: string }; expect: number; per?: number }[] = [
  {
    name: 'GetCount (BEST_EFFORT)',
    n: N,
    make: (i) => ({ path: '/v1/counter/GetCount', body: JSON.stringify({ namespace: 'bench_be', counter_name: `c${i % 100}` }) }),
    expect: 200,
  },
  {
    name: 'AddCount (BEST_EFFORT)',
    n: N,
    make: (i) => ({ path: '/v1/counter/AddCount', body: JSON.stringify({ namespace: 'bench_be', counter_name: `c${i % 100}`, delta: 1 }) }),
    expect: 200,
  },
  {
    name: 'AddCount (EVENTUAL, token)',
    n: N,
    make: (i) => ({ path: '/v1/counter/AddCount', body: addBody('bench_eventual', i) }),
    expect: 200,
  },
  {
    name: 'GetCount (EVENTUAL)',
    n: N,
    make: (i) => ({ path: '/v1/counter/GetCount', body: JSON.stringify({ namespace: 'bench_eventual', counter_name: `c${i % 100}` }) }),
    expect: 200,
  },
  {
    name: 'AddAndGetCount (ACCURATE)',
    n: Math.max(200, Math.floor(N / 4)),
    make: (i) => ({ path: '/v1/counter/AddAndGetCount', body: addBody('bench_accurate', i) }),
    expect: 200,
  },
  {
    name: 'WriteEventRecordsSync x100',
    n: Math.max(200, Math.floor(N / 20)),
    make: () => ({ path: '/v1/timeseries/WriteEventRecordsSync', body: batch(100) }),
    expect: 200,
    per: 100,
  },
];

try {
  await setup();
  for (const c of cases.filter((x) => x.name.includes(FILTER))) {
    await run(Math.min(2000, c.n), c.make, c.expect); // warm-up (JIT, caches)
    let r = await run(c.n, c.make, c.expect);
    for (let k = 1; k < REPEAT; k++) {
      const again = await run(c.n, c.make, c.expect);
      if (again.cpuUs < r.cpuUs) r = again;
    }
    const per = c.per ? `  (${(r.cpuUs / c.per).toFixed(1)} µs/event)` : '';
    console.log(`${c.name.padEnd(28)} ${r.cpuUs.toFixed(1).padStart(8)} µs CPU/request  ${r.wallUs.toFixed(1).padStart(8)} µs wall/request${per}`);
  }
} finally {
  await pool.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
