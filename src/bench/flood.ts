/**
 * `dgw bench --flood SECONDS`: priority load shedding under a mixed-priority flood (issue
 * 14, DESIGN 8; not for CI). One embedded server per shedding setting: 4 closed loops of
 * high-priority (x-dgw-priority 90) WriteEventRecordsSync of 5 events, first alone, then
 * beside 32 loops of priority 10 that send again as soon as they are answered (they ignore
 * Retry-After, the worst client). Settings, side by side in one run:
 *
 * - `admission`: the priority admission queue, 4 calls at once (docs/overload.md);
 * - `curve only` (the baseline): the cubic curve on calls in flight (2 … 32), no queue
 *   worth the name (limit 10,000).
 *
 * Printed per setting: the high priorities' success and p50/p99 alone and in the flood,
 * the flood's p99 over the alone p99, and the low priorities' served and shed calls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgwClient } from './dgw-setup.js';
import { ClientPool, measure, type Measurement } from './driver.js';
import type { OpSpec } from './ops.js';
import { startDgw } from './procs.js';

/** Options of {@link runFlood}. */
export interface FloodOptions {
  seconds: number;
}

const HIGH_LOOPS = 4;
const LOW_LOOPS = 32;

const SETTINGS: { name: string; shedding: Record<string, unknown> }[] = [
  { name: 'admission (limit 4)', shedding: { admission: { limit: 4, maxWaitMs: 500 } } },
  { name: 'curve only (baseline)', shedding: { inFlight: { threshold: 2, max: 32 }, admission: { limit: 10_000 } } },
];

interface FloodResult {
  name: string;
  alone: Measurement;
  high: Measurement;
  low: Measurement;
}

/** Runs the flood for every setting; resolves to the exit code (0 unless a run failed). */
export async function runFlood(o: FloodOptions): Promise<number> {
  const results: FloodResult[] = [];
  // One client process for the high priorities, one for the flood (a pool hands out its
  // first workers, so two loads at once need two pools).
  const pools = { high: new ClientPool(1), low: new ClientPool(1) };
  try {
    for (const setting of SETTINGS) results.push(await floodOne(setting, o.seconds, pools));
  } finally {
    await Promise.all([pools.high.close(), pools.low.close()]);
  }
  const ms = (m: Measurement, q: number) => (m.histogram.quantile(q) / 1000).toFixed(1);
  console.log(`flood: ${o.seconds} s per phase; ${HIGH_LOOPS} loops of priority 90 (WriteEventRecordsSync, 5 events), then beside ${LOW_LOOPS} loops of priority 10`);
  console.log('| setting | high alone: ok, p50, p99 (ms) | high in the flood: ok, p50, p99 (ms) | flood p99 ÷ alone p99 | low: served / shed |');
  console.log('|---|---|---|---:|---|');
  for (const r of results) {
    const okPct = (m: Measurement) => `${m.ok}/${m.ok + m.rejected + m.errors}`;
    const ratio = r.high.histogram.quantile(0.99) / Math.max(1, r.alone.histogram.quantile(0.99));
    console.log(
      `| ${r.name} | ${okPct(r.alone)}, ${ms(r.alone, 0.5)}, ${ms(r.alone, 0.99)} | ${okPct(r.high)}, ${ms(r.high, 0.5)}, ${ms(r.high, 0.99)} | ${ratio.toFixed(2)} | ${r.low.ok} / ${r.low.rejected}${r.low.errors ? ` (+${r.low.errors} errors)` : ''} |`,
    );
  }
  return results.every((r) => r.alone.errors === 0 && r.high.errors === 0) ? 0 : 1;
}

async function floodOne(setting: (typeof SETTINGS)[number], seconds: number, pools: { high: ClientPool; low: ClientPool }): Promise<FloodResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dgw-flood-'));
  const config = join(dataDir, 'dgw.json');
  writeFileSync(config, JSON.stringify({ shedding: setting.shedding }));
  const server = await startDgw({ dataDir: join(dataDir, 'data'), serveArgs: ['--config', config] });
  try {
    const c = new DgwClient(server.origin);
    // Bodies are generated as they are sent; an hour of accept limit keeps a request that
    // waited in the flood from being refused as too old (that would not be shedding).
    await c.call('PUT', '/v1/timeseries/namespaces/bench_flood', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1h' } }] });
    await c.close();
    const spec = (priority: number): OpSpec => ({
      kind: 'http',
      origin: server.origin,
      path: '/v1/timeseries/WriteEventRecordsSync',
      body: { gen: 'writeEvents', namespace: 'bench_flood', batch: 5, series: 100 },
      headers: { 'x-dgw-priority': String(priority) },
    });
    const target = { pids: () => [server.pid] };
    const window = { warmupMs: 1000, durationMs: seconds * 1000, target };
    const alone = await measure(spec(90), { pool: pools.high, concurrency: HIGH_LOOPS, clients: 1, ...window });
    // The flood starts first and ends last, so the high priorities are measured inside it.
    const lowRun = measure(spec(10), { pool: pools.low, concurrency: LOW_LOOPS, clients: 1, ...window, durationMs: window.durationMs + 1500 });
    const high = await measure(spec(90), { pool: pools.high, concurrency: HIGH_LOOPS, clients: 1, ...window, warmupMs: window.warmupMs + 500 });
    const low = await lowRun;
    return { name: setting.name, alone, high, low };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
