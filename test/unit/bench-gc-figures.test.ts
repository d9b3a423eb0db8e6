/**
 * The bench's GC figures of a dgw row (src/bench/gc-figures.ts, report.ts) and the server
 * counters they read (src/server/ops/gc-metrics.ts): the totals parsed from /metrics text
 * (summed over workers), what a window collected (a kind first seen at its end counted
 * from 0, nothing after a restart), the rates, a real registry and an unreachable
 * endpoint, and the per-operation figure; every entry of a batch counted by the server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { gcBetween, gcRates, parseGcTotals, readGcTotals } from '../../src/bench/gc-figures.js';
import { toResult } from '../../src/bench/report.js';
import { Histogram } from '../../src/bench/histogram.js';
import type { Scenario } from '../../src/bench/scenarios.js';
import { countGcEntries, gcTotals, registerGcMetrics } from '../../src/server/ops/gc-metrics.js';

const BEFORE = [
  '# HELP dgw_gc_pause_seconds_total Seconds the process was paused in garbage collection, by kind',
  '# TYPE dgw_gc_pause_seconds_total counter',
  'dgw_gc_pause_seconds_total{kind="minor"} 0.25',
  'dgw_gc_pause_seconds_total{kind="major"} 0.5',
  'dgw_gc_collections_total{kind="minor"} 100',
  'dgw_gc_collections_total{kind="major"} 4',
  'nodejs_gc_duration_seconds_sum{kind="minor"} 99',
  'process_cpu_seconds_total 12.5',
].join('\n');

const AFTER = [
  'dgw_gc_pause_seconds_total{kind="minor"} 1.25',
  'dgw_gc_pause_seconds_total{kind="major"} 0.75',
  'dgw_gc_pause_seconds_total{kind="incremental"} 0.125',
  'dgw_gc_collections_total{kind="minor"} 600',
  'dgw_gc_collections_total{kind="major"} 9',
  'dgw_gc_collections_total{kind="incremental"} 5',
].join('\n');

describe('bench GC figures', () => {
  it('parses the totals by kind, summing the workers, and ignores other series', () => {
    const totals = parseGcTotals(BEFORE);
    assert.ok(totals);
    assert.deepEqual([...totals.entries()].sort(), [
      ['major', { seconds: 0.5, count: 4 }],
      ['minor', { seconds: 0.25, count: 100 }],
    ]);
    const workers = parseGcTotals('dgw_gc_collections_total{kind="major",worker="1"} 2\ndgw_gc_collections_total{worker="2",kind="major"} 3\n');
    assert.equal(workers?.get('major')?.count, 5);
    assert.equal(parseGcTotals('process_cpu_seconds_total 1\nnodejs_gc_duration_seconds_sum{kind="minor"} 1\n'), undefined);
  });

  it('sums every kind over a window and counts the majors; nothing across a restart', () => {
    const w = gcBetween(parseGcTotals(BEFORE)!, parseGcTotals(AFTER)!);
    assert.deepEqual(w, { seconds: 1 + 0.25 + 0.125, majors: 5 });
    // 1.375 s of pauses in a 10,000 ms window: 13.75 % of it; 5 majors: 0.5 per second.
    const rates = gcRates(w!, 10_000);
    assert.ok(Math.abs(rates.serverGcPct - 13.75) < 1e-9, String(rates.serverGcPct));
    assert.equal(rates.serverMajorGcPerS, 0.5);
    assert.equal(gcBetween(parseGcTotals(AFTER)!, parseGcTotals(BEFORE)!), undefined);
    assert.equal(gcBetween(parseGcTotals(BEFORE)!, parseGcTotals('dgw_gc_collections_total{kind="minor"} 700')!), undefined);
  });

  it('reads the counters of a real registry over HTTP, and nothing from an endpoint it cannot reach', async () => {
    const registry = new Registry();
    registerGcMetrics(registry);
    countGcEntries([{ duration: 2, detail: { kind: constants.NODE_PERFORMANCE_GC_MAJOR } }]);
    const server = createServer((_req, res) => void registry.metrics().then((text) => res.end(text)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const totals = await readGcTotals(`http://127.0.0.1:${port}/metrics`);
      assert.ok((totals?.get('major')?.count ?? 0) >= 1);
      assert.ok((totals?.get('major')?.seconds ?? 0) >= 0.002);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    assert.equal(await readGcTotals(`http://127.0.0.1:${port}/metrics`), undefined);
  });

  it('counts every entry of a batch, by kind', () => {
    const before = { ...(gcTotals().get('minor') ?? { seconds: 0, count: 0 }) };
    // prom-client's histogram takes only the first entry of a batch; these take all three.
    countGcEntries([
      { duration: 1, detail: { kind: constants.NODE_PERFORMANCE_GC_MINOR } },
      { duration: 1.5, detail: { kind: constants.NODE_PERFORMANCE_GC_MINOR } },
      { duration: 0.5, detail: { kind: constants.NODE_PERFORMANCE_GC_MINOR } },
    ]);
    const after = gcTotals().get('minor')!;
    assert.equal(after.count - before.count, 3);
    assert.ok(Math.abs(after.seconds - before.seconds - 0.003) < 1e-12);
  });

  it('reports GC µs per operation the way CPU µs per operation is', () => {
    const s: Scenario = { id: 'sqlite.x', backend: 'sqlite', target: 'dgw', title: 'x', op: { kind: 'http', origin: '', path: '/', body: { gen: 'getCount', namespace: 'n', counters: 1 } } };
    const r = toResult(s, { ok: 20_000, rejected: 0, errors: 0, measuredS: 10, histogram: new Histogram(), clientCpuPct: 50, serverCpuPct: 80, serverGcPct: 4, serverMajorGcPerS: 1.5 });
    // 80 % of a core over 10 s for 20,000 calls: 400 µs each. Paused in GC 4 % of the
    // 10 s: 0.4 s over 20,000 calls, 20 µs each.
    assert.equal(r.serverCpuMicrosPerOp, 400);
    assert.equal(r.serverGcMicrosPerOp, 20);
    assert.equal(r.serverMajorGcPerS, 1.5);
  });
});
