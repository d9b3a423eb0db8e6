import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DgwError } from '../../src/kernel/errors.js';
import { ADAPTERS, makeHarness, sampleOf } from '../support/counter-harness.js';

async function rejectsWith(p: Promise<unknown>, code: string, field: string): Promise<DgwError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DgwError, String(err));
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.startsWith(`${field}:`), err.message);
    return err;
  }
  assert.fail(`expected ${code} on ${field}`);
}

describe('CounterService', () => {
  it('validates requests, naming the field, and counts nothing', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const config = h.config('valid', 'ACCURATE');
      await rejectsWith(c.addCount(config, { counterName: '', delta: 1n }), 'INVALID_ARGUMENT', 'counter_name');
      await rejectsWith(c.addCount(config, { counterName: 'x'.repeat(257), delta: 1n }), 'INVALID_ARGUMENT', 'counter_name');
      await rejectsWith(c.addCount(config, { counterName: 'a', delta: 2n ** 63n }), 'INVALID_ARGUMENT', 'delta');
      await rejectsWith(
        c.addCount(config, { counterName: 'a', delta: 1n, token: { token: '', generationTimeMicros: h.clock.nowMicros() } }),
        'INVALID_ARGUMENT',
        'idempotency_token.token',
      );
      await rejectsWith(
        c.addCount(config, { counterName: 'a', delta: 1n, token: { token: 't', generationTimeMicros: 1.5 } }),
        'INVALID_ARGUMENT',
        'idempotency_token.generation_time',
      );
      await rejectsWith(c.getCount(config, ''), 'INVALID_ARGUMENT', 'counter_name');
      await rejectsWith(c.clearCount(config, { counterName: '' }), 'INVALID_ARGUMENT', 'counter_name');
      assert.equal(await c.getCount(config, 'a'), 0n);
    } finally {
      await h.close();
    }
  });

  it('refuses a new mutation outside the write window, naming idempotency_token.generation_time', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const config = h.config('window', 'EVENTUAL');
      const now = h.clock.nowMicros();
      const old = await rejectsWith(
        c.addCount(config, { counterName: 'a', delta: 1n, token: { token: 't1', generationTimeMicros: now - 6_000_000 } }),
        'FAILED_PRECONDITION',
        'idempotency_token.generation_time',
      );
      assert.match(old.message, /accept limit/);
      await rejectsWith(
        c.clearCount(config, { counterName: 'a', token: { token: 't2', generationTimeMicros: now + 3_600_000_000 } }),
        'FAILED_PRECONDITION',
        'idempotency_token.generation_time',
      );
      assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 0n }), 0n);
    } finally {
      await h.close();
    }
  });

  it('accepts a retry of a stored mutation long after accept_limit, counting it once', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const config = h.config('retry', 'ACCURATE');
      const token = { token: 'once', generationTimeMicros: h.clock.nowMicros() };
      assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 7n, token }), 7n);
      await h.scheduler.advance(60_000);
      assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 7n, token }), 7n);
      await c.addCount(config, { counterName: 'a', delta: 7n, token });
      assert.equal(await c.getCount(config, 'a'), 7n);
    } finally {
      await h.close();
    }
  });

  it('EVENTUAL: GetCount of a never-written counter is 0 and stores nothing', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const config = h.config('ghost', 'EVENTUAL');
      assert.equal(await c.getCount(config, 'nobody'), 0n);
      await h.scheduler.advance(10_000);
      assert.equal(await h.catalog.rollups(config.rollup.storage.store).get(config.name, 'nobody'), undefined);
    } finally {
      await h.close();
    }
  });

  for (const adapter of ADAPTERS) {
    it(`EVENTUAL on ${adapter}: GetCount of a never-written counter reads the rollup store once, then the in-process cache; the first rollup after a write replaces it`, async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config('polled', 'EVENTUAL');
        const store = h.catalog.rollups(config.rollup.storage.store);
        let reads = 0;
        const get = store.get.bind(store);
        store.get = (ns, counter) => {
          reads++;
          return get(ns, counter);
        };
        for (let i = 0; i < 5; i++) assert.equal(await c.getCount(config, 'later'), 0n);
        assert.equal(reads, 1, 'one store read for five GetCounts of a counter with no row');
        await h.scheduler.advance(10_000);
        assert.equal(await store.get(config.name, 'later'), undefined, 'the reads stored nothing');
        await c.addCount(config, { counterName: 'later', delta: 4n, token: { token: 't', generationTimeMicros: h.clock.nowMicros() } });
        assert.equal(await c.getCount(config, 'later'), 0n, 'not rolled up yet');
        await h.scheduler.advance(10_000);
        assert.equal(await c.getCount(config, 'later'), 4n, 'the rollup replaced the remembered never-rolled-up value');
      } finally {
        await h.close();
      }
    });
  }

  it('EVENTUAL: a clear and an add at the same microsecond: the clear wins', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const config = h.config('ties', 'EVENTUAL');
      const t = h.clock.nowMicros();
      await c.addCount(config, { counterName: 'a', delta: 5n, token: { token: 'before', generationTimeMicros: t - 1 } });
      await c.addCount(config, { counterName: 'a', delta: 4n, token: { token: 'same', generationTimeMicros: t } });
      await c.clearCount(config, { counterName: 'a', token: { token: 'clear', generationTimeMicros: t } });
      await c.addCount(config, { counterName: 'a', delta: 3n, token: { token: 'after', generationTimeMicros: t + 1 } });
      assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 0n }), 3n);
      await h.scheduler.advance(10_000);
      assert.equal(await c.getCount(config, 'a'), 3n);
    } finally {
      await h.close();
    }
  });

  it('shutdown drains the rollup queues', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const config = h.config('drain', 'EVENTUAL');
      await c.addCount(config, { counterName: 'a', delta: 2n, token: { token: 't', generationTimeMicros: h.clock.nowMicros() } });
      h.clock.advance(10_000_000); // time passes, but no window fired yet
      await c.shutdown();
      assert.equal(await c.getCount(config, 'a'), 2n);
    } finally {
      await h.close();
    }
  });

  it('BEST_EFFORT: cache increments with TTL, not idempotent, clear deletes', async () => {
    const h = makeHarness('memory');
    try {
      const c = h.instances[0]!.counters;
      const base = h.config('cheap', 'BEST_EFFORT');
      const config = { ...base, ttlMicros: 60_000_000 };
      const token = { token: 't', generationTimeMicros: h.clock.nowMicros() };
      assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 2n, token }), 2n);
      assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 2n, token }), 4n, 'a retry counts again');
      await c.addCount(config, { counterName: 'a', delta: -10n });
      assert.equal(await c.getCount(config, 'a'), -6n);
      await c.clearCount(config, { counterName: 'a' });
      assert.equal(await c.getCount(config, 'a'), 0n);
      await c.addCount(config, { counterName: 'b', delta: 1n });
      h.clock.advance(61_000_000);
      assert.equal(await c.getCount(config, 'b'), 0n, 'expired with the namespace TTL');
      const ops = await h.instances[0]!.registry.getSingleMetricAsString('dgw_counters_operations_total');
      assert.match(ops, /counter_type="BEST_EFFORT",operation="AddAndGetCount",outcome="ok"\} 2/);
    } finally {
      await h.close();
    }
  });
  it('getCountNow answers a cached EVENTUAL count as getCount does, once counted, and nothing else (issue 9)', async () => {
    const h = makeHarness('sqlite');
    try {
      const c = h.instances[0]!.counters;
      const registry = h.instances[0]!.registry;
      const gets = (type: string, outcome: string) => sampleOf(registry, 'dgw_counters_operations_total', { counter_type: type, operation: 'GetCount', outcome });
      const eventual = h.config('now_eventual', 'EVENTUAL');
      // Not cached yet: nothing answered, nothing counted.
      assert.equal(c.getCountNow(eventual, 'a'), undefined);
      assert.equal(await gets('EVENTUAL', 'ok'), undefined);
      await c.addCount(eventual, { counterName: 'a', delta: 5n, token: { token: 't1', generationTimeMicros: h.clock.nowMicros() } });
      h.clock.advance(10_000_000);
      await c.rollupNow(eventual, 'a');
      assert.equal(await c.getCount(eventual, 'a'), 5n);
      assert.equal(c.getCountNow(eventual, 'a'), 5n);
      assert.equal(await gets('EVENTUAL', 'ok'), 2, 'one count per answer');
      // BEST_EFFORT and ACCURATE always take getCount.
      for (const type of ['BEST_EFFORT', 'ACCURATE'] as const) {
        const config = h.config(`now_${type.toLowerCase()}`, type);
        await c.addCount(config, { counterName: 'a', delta: 1n, token: { token: 't1', generationTimeMicros: h.clock.nowMicros() } });
        assert.equal(c.getCountNow(config, 'a'), undefined);
        assert.equal(await gets(type, 'ok'), undefined);
      }
      // An invalid name is never cached, so it is refused by getCount, not here.
      assert.equal(c.getCountNow(eventual, 'x'.repeat(257)), undefined);
      await rejectsWith(c.getCount(eventual, 'x'.repeat(257)), 'INVALID_ARGUMENT', 'counter_name');
    } finally {
      await h.close();
    }
  });
  it('a count past int64 saturates at the limit and stays readable (issue 14.6)', async () => {
    const MAX = 2n ** 63n - 1n;
    const MIN = -(2n ** 63n);
    for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
      const h = makeHarness('sqlite');
      try {
        const c = h.instances[0]!.counters;
        const config = h.config(`sat_${type.toLowerCase()}`, type);
        let n = 0;
        const add = (delta: bigint) => {
          h.clock.advance(1000);
          return c.addAndGetCount(config, { counterName: 'a', delta, token: { token: `t${n++}`, generationTimeMicros: h.clock.nowMicros() } });
        };
        assert.equal(await add(MAX), MAX);
        assert.equal(await add(1n), MAX, 'AddAndGetCount past the maximum answers the maximum');
        await c.addCount(config, { counterName: 'a', delta: MAX, token: { token: `t${n++}`, generationTimeMicros: h.clock.nowMicros() + 1 } });
        assert.equal(await add(-5n), MAX - 5n);
        h.clock.advance(10_000_000);
        await c.rollupNow(config, 'a');
        assert.equal(await c.getCount(config, 'a'), MAX - 5n, 'readable after a rollup across the overflow');
        assert.equal(await add(MIN), -6n);
        assert.equal(await add(MIN), MIN, 'and at the minimum');
        h.clock.advance(10_000_000);
        await c.rollupNow(config, 'a');
        assert.equal(await c.getCount(config, 'a'), MIN);
      } finally {
        await h.close();
      }
    }
  });
});
