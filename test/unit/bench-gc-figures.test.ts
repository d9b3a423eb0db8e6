/**
 * The bench's GC figures of a dgw row (src/bench/gc-figures.ts, report.ts): the totals
 * parsed from /metrics text, what a window collected (a kind first seen at its end counted
 * from 0), a real endpoint read and an unreachable one, and the per-operation figure.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gcBetween, parseGcTotals, readGcTotals } from '../../src/bench/gc-figures.js';
import { toResult } from '../../src/bench/report.js';
import { Histogram } from '../../src/bench/histogram.js';
import type { Scenario } from '../../src/bench/scenarios.js';

const BEFORE = [
  '# HELP nodejs_gc_duration_seconds Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
  '# TYPE nodejs_gc_duration_seconds histogram',
  'nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} 3',
  'nodejs_gc_duration_seconds_sum{kind="minor"} 0.25',
  'nodejs_gc_duration_seconds_count{kind="minor"} 100',
  'nodejs_gc_duration_seconds_sum{kind="major"} 0.5',
  'nodejs_gc_duration_seconds_count{kind="major"} 4',
  'process_cpu_seconds_total 12.5',
].join('\n');

const AFTER = [
  'nodejs_gc_duration_seconds_sum{kind="minor"} 1.25',
  'nodejs_gc_duration_seconds_count{kind="minor"} 600',
  'nodejs_gc_duration_seconds_sum{kind="major"} 0.75',
  'nodejs_gc_duration_seconds_count{kind="major"} 9',
  'nodejs_gc_duration_seconds_sum{kind="incremental"} 0.125',
  'nodejs_gc_duration_seconds_count{kind="incremental"} 5',
].join('\n');

describe('bench GC figures', () => {
  it('parses the totals by kind and ignores other series', () => {
    const totals = parseGcTotals(BEFORE);
    assert.ok(totals);
    assert.deepEqual([...totals.entries()].sort(), [
      ['major', { seconds: 0.5, count: 4 }],
      ['minor', { seconds: 0.25, count: 100 }],
    ]);
    assert.equal(parseGcTotals('process_cpu_seconds_total 1\n'), undefined);
  });

  it('sums every kind over a window and counts the majors', () => {
    const w = gcBetween(parseGcTotals(BEFORE)!, parseGcTotals(AFTER)!);
    assert.equal(w.seconds, 1 + 0.25 + 0.125);
    assert.equal(w.majors, 5);
  });

  it('reads a /metrics endpoint, and gives nothing for one it cannot reach', async () => {
    const server = createServer((_req, res) => res.end(AFTER));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const totals = await readGcTotals(`http://127.0.0.1:${port}/metrics`);
      assert.equal(totals?.get('major')?.count, 9);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    assert.equal(await readGcTotals(`http://127.0.0.1:${port}/metrics`), undefined);
  });

  it('reports GC µs per operation the way CPU µs per operation is', () => {
    const s: Scenario = { id: 'sqlite.x', backend: 'sqlite', target: 'dgw', title: 'x', op: { kind: 'http', origin: '', path: '/', body: { gen: 'getCount', namespace: 'n', counters: 1 } } };
    const r = toResult(s, { ok: 20_000, rejected: 0, errors: 0, measuredS: 10, histogram: new Histogram(), clientCpuPct: 50, serverCpuPct: 80, serverGcPct: 4, serverMajorGcPerS: 1.5 });
    // 80 % of a core over 10 s for 20,000 calls: 400 µs each; 4 % of it GC: 20 µs.
    assert.equal(r.serverCpuMicrosPerOp, 400);
    assert.equal(r.serverGcMicrosPerOp, 20);
    assert.equal(r.serverMajorGcPerS, 1.5);
  });
});
