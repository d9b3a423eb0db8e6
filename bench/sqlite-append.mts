/**
 * Micro-benchmark of the SQLite adapter's event append path (EventStore.appendEvents, the
 * storage half of WriteEventRecordsSync), in process, on a real WAL file with
 * synchronous=FULL. Appends N events (default 200,000, one item each, like the HTTP bench's
 * `writeEvents` shape: 1,000 series, 4 event buckets) in batches of 100 and of 1,000,
 * one appendEvents call (one transaction, one fsync) per batch, and prints per event:
 * wall µs, CPU µs (user+system of this process; median and min of --rounds) and the
 * system-time part (WAL page writes, fsync).
 *
 *   node --import tsx bench/sqlite-append.mts [--events 200000] [--batches 100,1000]
 *        [--items 1] [--series 1000] [--rounds 1] [--memory]
 *
 * --memory uses `:memory:` (no fsync) to isolate the CPU cost of the insert path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqliteStores } from '../src/storage/sqlite/stores.js';
import type { EventWrite } from '../src/storage/contracts.js';
import { prng } from '../test/support/dgw-load.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    batches: { type: 'string', default: '100,1000' },
    items: { type: 'string', default: '1' },
    series: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    memory: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(values.events);
const BATCHES = values.batches.split(',').map(Number);
const ITEMS = Number(values.items);
const SERIES = Number(values.series);
const ROUNDS = Number(values.rounds);

const SLICE = { sliceId: 1, startMicros: 0, endMicros: 4_000_000_000_000_000, status: 'ACTIVE' as const, secondsPerTimeBucket: 3600, eventBuckets: 4 };
const VALUES = ['phone', 'tablet', 'desktop', 'tv'].map((s) => new Uint8Array(Buffer.from(s)));


function makeBatches(batch: number): EventWrite[][] {
  const rand = prng(42);
  const base = 1_700_000_000_000_000;
  const out: EventWrite[][] = [];
  for (let n = 0; n < EVENTS; n += batch) {
    const writes: EventWrite[] = [];
    for (let i = n; i < Math.min(EVENTS, n + batch); i++) {
      const timeSeriesId = `s${Math.floor(rand() * SERIES)}`;
      const eventTimeMicros = base + i * 10;
      const items = [];
      for (let k = 0; k < ITEMS; k++) items.push({ key: `k${k}`, value: VALUES[(i + k) % 4]! });
      writes.push({
        namespace: 'bench',
        sliceId: SLICE.sliceId,
        partition: {
          timeSeriesId,
          timeBucket: Math.floor(eventTimeMicros / 3_600_000_000),
          eventBucket: Math.floor(rand() * 4),
        },
        event: { timeSeriesId, eventTimeMicros, eventId: `e-${i}`, items },
      });
    }
    out.push(writes);
  }
  return out;
}

async function run(batch: number): Promise<{ wall: number; cpu: number; sys: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'dgw-sqlite-append-'));
  const stores = createSqliteStores(values.memory ? { filename: ':memory:' } : { dataDir: dir });
  const events = stores.events!;
  try {
    await events.createSlice('bench', SLICE);
    const batches = makeBatches(batch);
    // Warm-up: statements prepared, pages cached (not counted; distinct events).
    await events.appendEvents(batches[0]!.map((w) => ({ ...w, event: { ...w.event, eventId: `w-${w.event.eventId}` } })));
    if (global.gc) global.gc();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const writes of batches) await events.appendEvents(writes);
    const wall = Number(process.hrtime.bigint() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    return { wall: wall / EVENTS, cpu: (c.user + c.system) / EVENTS, sys: c.system / EVENTS };
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `sqlite appendEvents: ${EVENTS} events, ${ITEMS} item(s) each, ${SERIES} series, ` +
    `${values.memory ? ':memory:' : 'WAL file, synchronous=FULL'}, node ${process.version}`,
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const batch of BATCHES) {
  const walls: number[] = [];
  const cpus: number[] = [];
  const syss: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const { wall, cpu, sys } = await run(batch);
    walls.push(wall);
    cpus.push(cpu);
    syss.push(sys);
  }
  const wall = median(walls);
  console.log(
    `batch ${String(batch).padStart(5)}: ${wall.toFixed(2).padStart(6)} µs/event wall, ` +
      `${median(cpus).toFixed(2).padStart(6)} µs/event CPU (min ${Math.min(...cpus).toFixed(2)}, ` +
      `system ${median(syss).toFixed(2)}), ` +
      `${(1e6 / wall).toFixed(0).padStart(7)} events/s (median of ${ROUNDS})`,
  );
}
