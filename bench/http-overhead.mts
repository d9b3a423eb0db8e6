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
 *
 * The read cases (ReadEventRecords / SearchEventRecords, page of 100) preload a namespace
 * shaped as the bench's read namespace first; DGW_OVERHEAD_PROFILE=DIR adds a profiled run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
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
  if (cases.some((x) => x.name.includes(FILTER) && x.reads)) await preloadReads();
}

/**
 * The read cases' namespace, shaped as the bench's (src/bench/dgw-setup.ts): READ_EVENTS
 * events (env DGW_OVERHEAD_READ_EVENTS, default 50,000), 1000 per series, spread over the
 * last hour, one indexed KEYWORD item `deviceType` (one of 4 values).
 */
const READ_EVENTS = Number(process.env.DGW_OVERHEAD_READ_EVENTS ?? 50_000);
const READ_SERIES = Math.max(1, Math.round(READ_EVENTS / 1000));
const DEVICE_B64 = ['ios', 'android', 'web', 'tv'].map((d) => Buffer.from(d).toString('base64'));
const readStart = new Date(Date.now() - 2 * 3600_000).toISOString();
const readEnd = new Date(Date.now() + 3600_000).toISOString();

async function preloadReads(): Promise<void> {
  const config = {
    persistence_configuration: [
      { id: 'PRIMARY_STORAGE', config: { acceptLimit: '2h' } },
      { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { deviceType: 'KEYWORD' } } } },
    ],
  };
  if ((await call('PUT', '/v1/timeseries/namespaces/bench_reads', JSON.stringify(config))) >= 300) throw new Error('namespace setup failed: bench_reads');
  const now = Date.now();
  for (let from = 0; from < READ_EVENTS; from += 1000) {
    const events: string[] = [];
    for (let i = from; i < Math.min(READ_EVENTS, from + 1000); i++) {
      const t = new Date(now - 3600_000 + Math.floor((i / READ_EVENTS) * 3600_000)).toISOString();
      events.push(`{"timeSeriesId":"s${i % READ_SERIES}","eventTime":"${t}","eventId":"p${i}","eventItems":[{"eventItemKey":"deviceType","eventItemValue":"${DEVICE_B64[i % 4]}"}]}`);
    }
    await call('POST', '/v1/timeseries/WriteEventRecordsSync', `{"namespace":"bench_reads","events":[${events.join(',')}]}`, 200);
  }
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

const cases: { name: string; n: number; make: (i: number) => { path: string; body: string }; expect: number; per?: number; reads?: true }[] = [
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
  {
    name: 'ReadEventRecords p100',
    n: Math.max(200, Math.floor(N / 20)),
    make: (i) => ({
      path: '/v1/timeseries/ReadEventRecords',
      body: `{"namespace":"bench_reads","timeSeriesId":"s${i % READ_SERIES}","timeInterval":{"start":"${readStart}","end":"${readEnd}"},"pageSize":100}`,
    }),
    expect: 200,
    reads: true,
  },
  {
    name: 'SearchEventRecords p100',
    n: Math.max(200, Math.floor(N / 20)),
    make: (i) => ({
      path: '/v1/timeseries/SearchEventRecords',
      body: `{"namespace":"bench_reads","timeInterval":{"start":"${readStart}","end":"${readEnd}"},"searchQuery":{"equals":{"eventItemKey":"deviceType","eventItemValue":"${DEVICE_B64[i % 4]}"}},"pageSize":100}`,
    }),
    expect: 200,
    reads: true,
  },
];

/**
 * With DGW_OVERHEAD_PROFILE=DIR, one more run of each case under the V8 profiler (after the
 * measured runs, so it does not change them), written to DIR/<case>.cpuprofile; summarise
 * with `node bench/profile-summary.mjs FILE`. Only that run is in the profile (no start-up,
 * no preload).
 */
const PROFILE_DIR = process.env.DGW_OVERHEAD_PROFILE;
async function profiled(name: string, work: () => Promise<unknown>): Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  await work();
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  session.disconnect();
  mkdirSync(PROFILE_DIR!, { recursive: true });
  const file = join(PROFILE_DIR!, `${name.replace(/[^A-Za-z0-9]+/g, '-')}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`  profile: ${file}`);
}

try {
  await setup();
  for (const c of cases.filter((x) => x.name.includes(FILTER))) {
    await run(Math.min(2000, c.n), c.make, c.expect); // warm-up (JIT, caches)
    let r = await run(c.n, c.make, c.expect);
    for (let k = 1; k < REPEAT; k++) {
      const again = await run(c.n, c.make, c.expect);
      if (again.cpuUs < r.cpuUs) r = again;
    }
    if (PROFILE_DIR) await profiled(c.name, () => run(c.n, c.make, c.expect));
    const per = c.per ? `  (${(r.cpuUs / c.per).toFixed(1)} µs/event)` : '';
    console.log(`${c.name.padEnd(28)} ${r.cpuUs.toFixed(1).padStart(8)} µs CPU/request  ${r.wallUs.toFixed(1).padStart(8)} µs wall/request${per}`);
  }
} finally {
  await pool.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
