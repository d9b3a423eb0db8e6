/**
 * Priority load shedding (DESIGN 8) with injected overload signals: the cubic curve at the
 * design's reference points, worst signal wins, priority resolution (header, namespace,
 * operation), retry advice more generous for higher priorities, probes never shed, and
 * the calls-in-flight signal.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isShed, retryAdvice, shedCeiling, signalFraction } from '../../src/server/shedding/curve.js';
import { Shedder, type OverloadSignals } from '../../src/server/shedding/shedder.js';
import { accessOf, type CallContext } from '../../src/server/call-context.js';
import { LoopDelaySampler } from '../../src/server/shedding/loop-delay.js';
import { DgwError } from '../../src/kernel/errors.js';

function call(operation: string, headers: Record<string, string> = {}, namespace?: string): CallContext {
  return { operation, access: accessOf(operation), namespace, header: (n) => headers[n] };
}

/** Signals set by the test. */
class FakeSignals implements OverloadSignals {
  delay = 0;
  bytes = 0;
  eventLoopDelayMs(): number {
    return this.delay;
  }
  bufferBytes(): number {
    return this.bytes;
  }
}

const LIMITS = {
  eventLoopDelayMs: { threshold: 100, max: 1100 },
  eventLoopDelayMinInFlight: 0,
  inFlight: { threshold: 10, max: 110 },
  bufferBytes: { threshold: 1000, max: 2000 },
};

/** Enters a call that must be admitted at once (a free slot). */
function enterNow(shedder: Shedder): () => void {
  const r = shedder.enter(call('GetCount'), 50);
  assert.equal(typeof r, 'function', 'admitted without waiting');
  return r as () => void;
}

/** Highest priority shed at the delay that gives overload `x`, found by probing 1..100. */
function highestShed(shedder: Shedder, signals: FakeSignals, x: number): number {
  signals.delay = 100 + 1000 * x;
  let highest = 0;
  for (let p = 1; p <= 100; p++) {
    try {
      shedder.check(call('ReadEventRecords'), p);
    } catch {
      highest = p;
    }
  }
  return highest;
}

describe('shedding curve', () => {
  it('sheds priorities up to 100·x³ at the design reference points', () => {
    assert.equal(Math.floor(shedCeiling(0.35)), 4);
    assert.equal(Math.floor(shedCeiling(0.8)), 51);
    assert.equal(Math.floor(shedCeiling(0.95)), 85); // 85.7: priorities ≤ 85 shed, 86 kept
    assert.equal(shedCeiling(1), 100);
    assert.equal(isShed(1, 0), false, 'nothing shed without overload');
    assert.equal(isShed(100, 1), true, 'everything shed at the maximum');
    assert.equal(isShed(4, 0.35), true);
    assert.equal(isShed(5, 0.35), false);
    assert.equal(isShed(51, 0.8), true);
    assert.equal(isShed(52, 0.8), false);
  });

  it('maps a signal between its threshold and maximum, clamped', () => {
    const l = { threshold: 10, max: 20 };
    assert.equal(signalFraction(5, l), 0);
    assert.equal(signalFraction(10, l), 0);
    assert.equal(signalFraction(15, l), 0.5);
    assert.equal(signalFraction(20, l), 1);
    assert.equal(signalFraction(1e9, l), 1);
    assert.equal(signalFraction(Number.NaN, l), 0);
  });

  it('gives higher priorities shorter waits and more retries', () => {
    let prev = retryAdvice(1);
    for (let p = 2; p <= 100; p++) {
      const a = retryAdvice(p);
      assert.ok(a.retryAfterSeconds <= prev.retryAfterSeconds && a.maxRetries >= prev.maxRetries, `priority ${p}`);
      assert.ok(Number.isInteger(a.retryAfterSeconds) && a.retryAfterSeconds >= 1);
      prev = a;
    }
    assert.deepEqual(retryAdvice(100), { retryAfterSeconds: 1, maxRetries: 3 });
    assert.deepEqual(retryAdvice(1), { retryAfterSeconds: 5, maxRetries: 0 });
  });
});

describe('Shedder', () => {
  it('follows the curve on an injected event-loop delay', () => {
    const signals = new FakeSignals();
    const shedder = new Shedder(signals, LIMITS);
    assert.equal(highestShed(shedder, signals, 0), 0);
    assert.equal(highestShed(shedder, signals, 0.35), 4);
    assert.equal(highestShed(shedder, signals, 0.8), 51);
    assert.equal(highestShed(shedder, signals, 0.95), 85);
    assert.equal(highestShed(shedder, signals, 1), 100);
  });

  it('takes the worst signal, and answers RESOURCE_EXHAUSTED with retry advice by priority', () => {
    const signals = new FakeSignals();
    const shedder = new Shedder(signals, LIMITS);
    signals.delay = 200; // x = 0.1
    signals.bytes = 1900; // x = 0.9: the worst
    assert.deepEqual(shedder.reading(), { x: 0.9, signal: 'bufferBytes' });
    const err = (() => {
      try {
        shedder.check(call('AddCount'), 70);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof DgwError);
    assert.equal(err.code, 'RESOURCE_EXHAUSTED');
    assert.deepEqual(err.details[0], { reason: 'OVERLOADED', priority: 70, ...retryAdvice(70) });
    assert.match(err.message, /bufferBytes/);
    shedder.check(call('AddCount'), 73); // 100·0.9³ = 72.9: 73 passes
  });

  it('ignores event-loop delay with few calls in flight (their own work, not overload)', () => {
    const signals = new FakeSignals();
    const shedder = new Shedder(signals, { ...LIMITS, eventLoopDelayMinInFlight: 3 });
    signals.delay = 1e6;
    const releases = [enterNow(shedder), enterNow(shedder)];
    assert.deepEqual(shedder.reading(), { x: 0, signal: 'none' });
    shedder.check(call('GetCount'), 1);
    releases.push(enterNow(shedder));
    assert.deepEqual(shedder.reading(), { x: 1, signal: 'eventLoopDelayMs' });
    for (const r of releases) r();
  });

  it('counts calls in flight as a signal, each release counted once', () => {
    const shedder = new Shedder(new FakeSignals(), LIMITS);
    const releases = Array.from({ length: 60 }, () => enterNow(shedder));
    assert.equal(shedder.inFlight, 60);
    assert.deepEqual(shedder.reading(), { x: 0.5, signal: 'inFlight' });
    assert.throws(() => shedder.check(call('GetCount'), 12), /RESOURCE_EXHAUSTED|overloaded/);
    releases[0]!();
    releases[0]!();
    assert.equal(shedder.inFlight, 59);
    for (const r of releases) r();
    assert.equal(shedder.inFlight, 0);
    shedder.check(call('GetCount'), 1);
  });

  it('never sheds probes or /metrics, and does nothing when disabled', () => {
    const signals = new FakeSignals();
    signals.delay = 1e6;
    const shedder = new Shedder(signals, LIMITS);
    for (const op of ['Healthz', 'Readyz', 'Metrics']) shedder.check(call(op), 1);
    assert.throws(() => shedder.check(call('PutNamespace'), 100));
    new Shedder(signals, { ...LIMITS, enabled: false }).check(call('GetCount'), 1);
  });

  it('resolves the priority: header, then namespace default, then operation default', () => {
    const shedder = new Shedder(new FakeSignals(), {
      operationPriorities: { GetCount: 70 },
      namespacePriorities: { billing: 95 },
    });
    assert.equal(shedder.priorityOf(call('GetCount', { 'x-dgw-priority': '12' }, 'billing')), 12);
    assert.equal(shedder.priorityOf(call('GetCount', {}, 'billing')), 95);
    assert.equal(shedder.priorityOf(call('GetCount', {}, 'other')), 70);
    assert.equal(shedder.priorityOf(call('SearchEventRecords', {}, 'other')), 30, 'built-in default');
    assert.equal(shedder.priorityOf(call('GetCount')), undefined, 'namespace not known yet');
    assert.equal(new Shedder(new FakeSignals()).priorityOf(call('GetCount')), 50, 'no namespace defaults: decided early');
    for (const bad of ['0', '101', '5.5', 'high', '', '-3']) {
      assert.throws(() => shedder.priorityOf(call('GetCount', { 'x-dgw-priority': bad })), /x-dgw-priority/, bad);
    }
  });

  it('refuses a bad shedding config naming the field', () => {
    assert.throws(() => new Shedder(new FakeSignals(), { inFlight: { threshold: 10, max: 5 } }), /inFlight/);
    assert.throws(() => new Shedder(new FakeSignals(), { namespacePriorities: { a: 101 } }), /namespacePriorities\.a/);
  });
});

describe('LoopDelaySampler', () => {
  it('reads a loop blocked on every tick as delayed (lower bound only)', async () => {
    const sampler = new LoopDelaySampler(10);
    try {
      for (let i = 0; i < 5; i++) {
        // setImmediate: the loop turns (and the overdue tick runs) between two blocks.
        await new Promise((r) => setImmediate(r));
        const until = performance.now() + 60;
        while (performance.now() < until) {
          // Busy: the sampler's next tick is at least ~50 ms late.
        }
      }
      await new Promise((r) => setImmediate(r));
      assert.ok(sampler.delayMs() >= 40, `delay ${sampler.delayMs()} ms`);
    } finally {
      sampler.stop();
    }
  });
});
