/**
 * CompareCounts' arithmetic (DESIGN 4.6): lnΓ, the Bayes factor test vectors, and the
 * two properties that make the p-value worth reporting, on seeded simulations: under
 * A/A it falls below α in at most α of runs (anytime: looked at after every increment),
 * and under a 20% rate drop it finds the difference.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lnGamma, logBayesFactor, pValueOf, SequentialTest, checkSequentialTestOptions } from '../../src/core/counter/sequential-test.js';
import { prng } from '../support/dgw-load.js';

const close = (actual: number, expected: number, relative: number) =>
  assert.ok(Math.abs(actual - expected) <= relative * Math.abs(expected), `${actual} is not within ${relative} of ${expected}`);

/** Streams `n` increments, each on arm B with probability pB, into a fresh test. */
function simulate(seed: number, n: number, pB: number): ReturnType<SequentialTest['result']> {
  const random = prng(seed);
  const test = new SequentialTest({ assignmentProbabilities: [0.5, 0.5] }, 0.05);
  for (let i = 0; i < n; i++) test.observe(random() < pB ? 1 : 0);
  return test.result();
}

describe('lnGamma', () => {
  it('matches factorials and Γ(1/2) = √π to double precision', () => {
    let factorial = 1;
    for (let n = 1; n <= 25; n++) {
      close(lnGamma(n + 1), Math.log((factorial *= n)), 1e-14);
    }
    assert.equal(lnGamma(1), 0);
    close(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
    close(lnGamma(1e-3), 6.907178885383853, 1e-13);
    close(lnGamma(1e6), 12815504.569147612, 1e-14);
  });
  it('refuses non-positive arguments', () => {
    assert.throws(() => lnGamma(0), RangeError);
    assert.throws(() => lnGamma(-1), RangeError);
    assert.throws(() => lnGamma(Number.NaN), RangeError);
  });
});

describe('sequential test of counts (DESIGN 4.6)', () => {
  it('meets the test vectors: [100, 101] → 1, [100, 201] → 5.06061172163498e-06', () => {
    assert.equal(pValueOf(logBayesFactor([100, 101], [0.5, 0.5], 100)), 1);
    close(pValueOf(logBayesFactor([100, 201], [0.5, 0.5], 100)), 5.06061172163498e-6, 1e-9);
  });

  it('keeps the running minimum: a path that dips and recovers keeps the dip', () => {
    const test = new SequentialTest({ assignmentProbabilities: [0.5, 0.5] }, 0.05);
    for (let i = 0; i < 80; i++) test.observe(1);
    const dipped = test.result().pValue;
    assert.ok(dipped < 1e-6);
    for (let i = 0; i < 80; i++) test.observe(0);
    assert.equal(test.result().pValue, dipped);
    assert.ok(test.result().logBayesFactor < Math.log(1 / dipped));
  });

  it('under A/A never falls below α = 0.05 in at least 95% of 200 seeded runs', () => {
    let rejected = 0;
    for (let seed = 1; seed <= 200; seed++) if (simulate(seed, 4000, 0.5).firstBelowAlphaAt !== undefined) rejected++;
    assert.ok(rejected <= 10, `${rejected} of 200 A/A runs fell below 0.05`);
  });

  it('detects a 20% rate drop on one arm and reports when', () => {
    // Arm A at rate 1, arm B at 0.8: an increment lands on B with probability 0.8 / 1.8.
    let detected = 0;
    const when: number[] = [];
    for (let seed = 1; seed <= 50; seed++) {
      const r = simulate(seed, 6000, 0.8 / 1.8);
      if (r.firstBelowAlphaAt !== undefined) {
        detected++;
        when.push(r.firstBelowAlphaAt);
        assert.ok(r.pValue < 0.05);
      }
    }
    assert.ok(detected >= 45, `only ${detected} of 50 A/B runs detected the drop`);
    assert.ok(when.every((n) => n > 0 && n <= 6000));
  });

  it('names what is wrong with the arms', () => {
    assert.match(checkSequentialTestOptions({ assignmentProbabilities: [1] }) ?? '', /two arms/);
    assert.match(checkSequentialTestOptions({ assignmentProbabilities: [0.5, 0.6] }) ?? '', /sum to 1/);
    assert.match(checkSequentialTestOptions({ assignmentProbabilities: [0, 1] }) ?? '', /\[0\]/);
    assert.match(checkSequentialTestOptions({ assignmentProbabilities: [0.5, 0.5], concentration: 0 }) ?? '', /concentration/);
    assert.equal(checkSequentialTestOptions({ assignmentProbabilities: [0.25, 0.25, 0.5] }), undefined);
  });
});
