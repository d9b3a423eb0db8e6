/**
 * CompareCounts over real counter event logs (memory and SQLite stores): the replay of
 * the arms in time order gives the DESIGN 4.6 Bayes factor at the final counts, detects a
 * 20% rate drop and says when, stays quiet on A/A, refuses clears and bad arms.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareCounts } from '../../src/core/counter/compare-counts.js';
import { addEvent } from '../../src/core/counter/counter-events.js';
import { logBayesFactor, pValueOf } from '../../src/core/counter/sequential-test.js';
import { DgwError } from '../../src/kernel/errors.js';
import { prng } from '../support/dgw-load.js';
import { ADAPTERS, makeHarness, type CounterHarness } from '../support/counter-harness.js';

/**
 * Writes `n` single increments, 1 ms apart, each on arm B with probability pB, as the
 * counter's own events (what AddCount stores), in batches so the replay has a long path.
 */
async function stream(h: CounterHarness, ns: string, seed: number, n: number, pB: number): Promise<void> {
  const config = h.config(ns, 'EVENTUAL');
  const random = prng(seed);
  for (let i = 0; i < n; i += 250) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 250); j++) {
      h.clock.advance(1000);
      batch.push(addEvent(random() < pB ? 'B' : 'A', h.clock.nowMicros(), `s${j}`, 1n));
    }
    await h.instances[0]!.timeseries.writeSync(config.events, batch);
  }
}

const isCode = (code: string) => (e: unknown) => e instanceof DgwError && e.code === code;

for (const adapter of ADAPTERS) {
  describe(`CompareCounts (${adapter})`, () => {
    it('detects a 20% rate drop on arm B and reports when; the final log BF is the formula at the counts', async () => {
      const h = makeHarness(adapter);
      try {
        await stream(h, 'cmp_ab', 7, 3000, 0.8 / 1.8);
        const config = h.config('cmp_ab', 'EVENTUAL');
        const r = await compareCounts(h.instances[0]!.timeseries, h.clock, config, { counterNames: ['A', 'B'], assignmentProbabilities: [0.5, 0.5] });
        const counts = r.counts.map(Number);
        assert.equal(counts[0]! + counts[1]!, 3000);
        assert.ok(Math.abs(r.logBayesFactor - logBayesFactor(counts, [0.5, 0.5], 100)) < 1e-9);
        assert.ok(r.pValue < 0.05, `p = ${r.pValue}`);
        assert.ok(r.pValue <= pValueOf(r.logBayesFactor));
        assert.ok(r.firstBelowAlphaMicros !== undefined && r.firstBelowAlphaMicros <= h.clock.nowMicros());
        // Restricted to the interval before the first crossing, it has not crossed yet.
        const before = await compareCounts(h.instances[0]!.timeseries, h.clock, config, {
          counterNames: ['A', 'B'],
          assignmentProbabilities: [0.5, 0.5],
          startMicros: 0,
          endMicros: r.firstBelowAlphaMicros!,
        });
        assert.equal(before.firstBelowAlphaMicros, undefined);
        assert.ok(before.pValue >= 0.05);
      } finally {
        await h.close();
      }
    });

    it('stays above alpha on an A/A stream', async () => {
      const h = makeHarness(adapter);
      try {
        await stream(h, 'cmp_aa', 11, 2000, 0.5);
        const r = await compareCounts(h.instances[0]!.timeseries, h.clock, h.config('cmp_aa', 'EVENTUAL'), {
          counterNames: ['A', 'B'],
          assignmentProbabilities: [0.5, 0.5],
        });
        assert.equal(r.firstBelowAlphaMicros, undefined);
        assert.ok(r.pValue >= 0.05);
      } finally {
        await h.close();
      }
    });

    it('refuses a clear inside the interval, and bad arms naming the field', async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config('cmp_bad', 'EVENTUAL');
        await c.addCount(config, { counterName: 'A', delta: 2n, token: { token: 'a', generationTimeMicros: h.clock.nowMicros() } });
        await c.clearCount(config, { counterName: 'B', token: { token: 'b', generationTimeMicros: h.clock.nowMicros() } });
        const ts = h.instances[0]!.timeseries;
        await assert.rejects(compareCounts(ts, h.clock, config, { counterNames: ['A', 'B'], assignmentProbabilities: [0.5, 0.5] }), isCode('FAILED_PRECONDITION'));
        await assert.rejects(compareCounts(ts, h.clock, config, { counterNames: ['A'], assignmentProbabilities: [1] }), /counter_names/);
        await assert.rejects(compareCounts(ts, h.clock, config, { counterNames: ['A', 'A'], assignmentProbabilities: [0.5, 0.5] }), /counter_names/);
        await assert.rejects(compareCounts(ts, h.clock, config, { counterNames: ['A', 'C'], assignmentProbabilities: [0.5, 0.6] }), /assignment_probabilities/);
        await assert.rejects(compareCounts(ts, h.clock, config, { counterNames: ['A', 'C'], assignmentProbabilities: [0.5, 0.5], alpha: 2 }), /alpha/);
        const none = await compareCounts(ts, h.clock, config, { counterNames: ['A', 'C'], assignmentProbabilities: [0.5, 0.5] });
        assert.deepEqual(none.counts, [2n, 0n]);
      } finally {
        await h.close();
      }
    });
  });
}
