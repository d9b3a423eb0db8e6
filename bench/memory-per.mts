/**
 * Server memory per namespace and per hot counter (issue 9, "How cost grows"), in
 * process so the heap can be measured after a full GC: dgw on embedded SQLite in a temp
 * dir, driven over HTTP by undici in the same process (its own memory is small and
 * constant). Steps, each measured as the change of V8 heap used (after `gc()`) and of
 * RSS (which also holds SQLite's page cache and freed-but-kept pages):
 *
 * 1. NS TimeSeries namespaces, each with one event written (its slices, write pipeline,
 *    metrics series exist) and NS counter namespaces (EVENTUAL) with one add each;
 * 2. COUNTERS distinct counters in one EVENTUAL and one ACCURATE namespace, each written
 *    3 times with tokens (write marks, rollup cache and queue entries, live windows),
 *    then again once their rollups have run (what stays per counter).
 *
 *   node --expose-gc --import tsx bench/memory-per.mts [NS=1000] [COUNTERS=10000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startServer } from '../src/server/runtime.js';

const NS = Number(process.argv[2] ?? 1000);
const COUNTERS = Number(process.argv[3] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const dir = mkdtempSync(join(tmpdir(), 'dgw-memory-per-'));
const server = await startServer({ port: 0, host: '127.0.0.1', dataDir: dir, lifecycleIntervalSeconds: 3600 });
const pool = new Pool(`http://127.0.0.1:${server.port}`, { connections: 16, pipelining: 1 });

async function call(method: 'PUT' | 'POST', path: string, body: unknown): Promise<void> {
  const res = await pool.request({ method, path, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (res.statusCode >= 300) throw new Error(`${path}: status ${res.statusCode} ${await res.body.text()}`);
  await res.body.dump();
}

/** Runs `n` calls 16 at a time. */
async function many(n: number, f: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) await f(next++);
    }),
  );
}

interface Reading {
  heap: number;
  rss: number;
}
async function read(): Promise<Reading> {
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}
const per = (a: Reading, b: Reading, n: number) =>
  `heap ${((b.heap - a.heap) / n / 1024).toFixed(2)} KiB, RSS ${((b.rss - a.rss) / n / 1024).toFixed(2)} KiB`;

const counterNs = (type: string) => ({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] });
const now = () => new Date().toISOString();

const base = await read();
await many(NS, async (i) => {
  await call('PUT', `/v1/timeseries/namespaces/mem_ts_${i}`, {});
  await call('POST', '/v1/timeseries/WriteEventRecordsSync', {
    namespace: `mem_ts_${i}`,
    events: [{ timeSeriesId: 's', eventTime: now(), eventId: 'e', eventItems: [{ eventItemKey: 'k', eventItemValue: 'dg==' }] }],
  });
});
const afterTs = await read();
await many(NS, async (i) => {
  await call('PUT', `/v1/counter/namespaces/mem_ctr_${i}`, counterNs('EVENTUAL'));
  await call('POST', '/v1/counter/AddCount', { namespace: `mem_ctr_${i}`, counter_name: 'c', delta: 1, idempotency_token: { token: `t${i}`, generation_time: now() } });
});
const afterCtrNs = await read();
console.log(`per TimeSeries namespace (one event written): ${per(base, afterTs, NS)}   [${NS} namespaces]`);
console.log(`per counter namespace (EVENTUAL, one add):     ${per(afterTs, afterCtrNs, NS)}   [${NS} namespaces]`);

for (const type of ['EVENTUAL', 'ACCURATE']) {
  const ns = `mem_hot_${type.toLowerCase()}`;
  await call('PUT', `/v1/counter/namespaces/${ns}`, counterNs(type));
  const before = await read();
  for (let round = 0; round < 3; round++) {
    await many(COUNTERS, (i) => call('POST', '/v1/counter/AddCount', { namespace: ns, counter_name: `c${i}`, delta: 1, idempotency_token: { token: `${type}-${round}-${i}`, generation_time: now() } }));
  }
  const hot = await read();
  // Rollups run after accept limit (5 s) + skew margin (1 s) + coalesce (1 s).
  await new Promise((r) => setTimeout(r, 9000));
  const settled = await read();
  console.log(`per hot counter, ${type} (3 adds each, rollups pending): ${per(before, hot, COUNTERS)}   [${COUNTERS} counters]`);
  console.log(`per counter, ${type}, after its rollups:             ${per(before, settled, COUNTERS)}`);
}

await pool.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
