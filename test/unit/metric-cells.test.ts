/**
 * Metric cells (kernel/metric-cells.ts) against prom-client's own calls: the same updates
 * through a cell and through `inc(labels)` / `observe(labels, v)` on twin registries give
 * the same scrape text at every step (sums to the last bit, series order, first
 * appearance), through resets, removals, other series, bad values and exemplars.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterCell, HistogramCell } from '../../src/kernel/metric-cells.js';

/** A seeded generator (mulberry32), so a failure repeats. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function twins(enableExemplars = false) {
  const make = () => {
    const registry = new Registry();
    if (enableExemplars) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const counter = new Counter({ name: 'c_total', help: 'c', labelNames: ['route', 'code', 'method'], registers: [registry], enableExemplars });
    const histogram = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['route', 'method'], buckets: [0.0005, 0.001, 0.005, 0.1, 1], registers: [registry], enableExemplars });
    return { registry, counter, histogram };
  };
  return { plain: make(), cells: make() };
}

test('cells give the scrape of prom-client calls, step by step', async () => {
  const { plain, cells } = twins();
  const random = seeded(9);
  const routes = [
    { method: 'POST', route: '/v1/counter/GetCount' },
    { method: 'POST', route: '/v1/counter/AddCount' },
  ];
  const histogramCells = routes.map((l) => new HistogramCell(cells.histogram, l));
  const counterCells = routes.map((l) => new Map([200, 429].map((code) => [code, new CounterCell(cells.counter, { ...l, code: String(code) })])));
  // Nothing recorded yet: no series in either scrape.
  assert.equal(await cells.registry.metrics(), await plain.registry.metrics());
  assert.doesNotMatch(await cells.registry.metrics(), /route=/);
  for (let step = 0; step < 3000; step++) {
    const r = Math.floor(random() * routes.length);
    const code = random() < 0.9 ? 200 : 429;
    // Values on the bucket bounds, between them and past the last one.
    const value = random() < 0.1 ? [0.0005, 0.001, 0.005, 0.1, 1][Math.floor(random() * 5)]! : random() < 0.05 ? 2 + random() : random() * random() * 0.01;
    plain.counter.inc({ ...routes[r]!, code: String(code) });
    plain.histogram.observe(routes[r]!, value);
    counterCells[r]!.get(code)!.inc();
    histogramCells[r]!.observe(value);
    if (step % 97 === 0) {
      // A series updated by prom-client directly is the same series.
      plain.counter.inc({ route: '/x', method: 'GET', code: '200' });
      cells.counter.inc({ route: '/x', method: 'GET', code: '200' });
      plain.histogram.observe(routes[r]!, 0.003);
      cells.histogram.observe(routes[r]!, 0.003);
    }
    if (step === 1500) {
      plain.registry.resetMetrics();
      cells.registry.resetMetrics();
    }
    if (step === 2000) {
      plain.histogram.remove(routes[0]!);
      cells.histogram.remove(routes[0]!);
      plain.counter.remove({ ...routes[1]!, code: '200' });
      cells.counter.remove({ ...routes[1]!, code: '200' });
    }
    if (step % 151 === 0 || step === 1501 || step === 2001) assert.equal(await cells.registry.metrics(), await plain.registry.metrics(), `step ${step}`);
  }
  assert.equal(await cells.registry.metrics(), await plain.registry.metrics());
  assert.match(await cells.registry.metrics(), /h_seconds_sum\{[^}]*AddCount[^}]*\} \d+\.\d{6,}/);
});

test('bad values and bad labels throw as prom-client does', () => {
  const { cells } = twins();
  const cell = new HistogramCell(cells.histogram, { route: '/a', method: 'POST' });
  cell.observe(0.1);
  assert.throws(() => cell.observe(Number.NaN), /not a valid number/);
  assert.throws(() => cell.observe(Number.POSITIVE_INFINITY), /not a valid number/);
  const wrong = new CounterCell(cells.counter, { route: '/a', nope: 'x' } as never);
  assert.throws(() => wrong.inc(), /not included/);
  assert.throws(() => wrong.inc(), /not included/);
});

test('with exemplars a cell leaves every update to prom-client', async () => {
  const { plain, cells } = twins(true);
  const h = new HistogramCell(cells.histogram, { route: '/a', method: 'POST' });
  const c = new CounterCell(cells.counter, { route: '/a', method: 'POST', code: '200' });
  for (const v of [0.0001, 0.002, 0.5, 3]) {
    plain.histogram.observe({ labels: { route: '/a', method: 'POST' }, value: v });
    plain.counter.inc({ labels: { route: '/a', method: 'POST', code: '200' } });
    h.observe(v);
    c.inc();
  }
  assert.equal(await cells.registry.metrics(), await plain.registry.metrics());
});
