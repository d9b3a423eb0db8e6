/**
 * The one conformance suite every adapter runs (STYLE): `runConformance(name, makeStores)`
 * registers node:test suites checking each storage contract's semantics. Parts a StoreSet
 * lacks are skipped with a message, so the same suite runs on full stores (memory, SQLite,
 * PostgreSQL) and cache-only ones (Redis).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManualClock } from '../kernel/clock.js';
import { isDgwError } from '../kernel/errors.js';
import type { StoreSet } from './contracts.js';
import { registerCounterTests } from './conformance/counters.js';
import { registerEventTests } from './conformance/events.js';
import { registerIndexTests } from './conformance/index-store.js';
import { registerRegistryTests } from './conformance/registry.js';
import type { ConformanceContext } from './conformance/support.js';

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /**
   * The ManualClock the stores were built with (e.g. the counter cache's clock). When given,
   * expiry tests advance it; otherwise they are skipped.
   */
  clock?: ManualClock;
}

/**
 * Registers the conformance tests for the stores `makeStores` builds. It is called once for
 * the shared store of the suite (closed at the end) and once more by the lifecycle test;
 * each test works in its own random namespace.
 */
export function runConformance(name: string, makeStores: () => Promise<StoreSet>, options: ConformanceOptions = {}): void {
  describe(`storage conformance: ${name}`, () => {
    let stores: StoreSet | undefined;
    const ctx: ConformanceContext = {
      stores: () => {
        if (!stores) throw new Error('stores not ready');
        return stores;
      },
      makeStores,
      clock: options.clock,
    };
    before(async () => {
      stores = await makeStores();
    });
    after(async () => {
      await stores?.close();
    });

    registerEventTests(ctx);
    registerIndexTests(ctx);
    registerCounterTests(ctx);
    registerRegistryTests(ctx);

    describe('clock (issue 15)', () => {
      it('a shared store reads its own clock: near this host\'s, never going back; an unshared one has none', async (t) => {
        const set = ctx.stores();
        if (!set.capabilities.shared) {
          assert.equal(set.clock, undefined, 'an unshared store has no clock of its own (offset 0)');
          return;
        }
        assert.ok(set.clock, 'a store several instances share must offer its clock');
        const before = Date.now() * 1000;
        const first = await set.clock.nowMicros();
        const second = await set.clock.nowMicros();
        const after = Date.now() * 1000;
        assert.ok(Number.isSafeInteger(first) && Number.isSafeInteger(second), `integers: ${first}, ${second}`);
        assert.ok(second >= first, `never goes back: ${first} then ${second}`);
        // The servers of this suite run on this host: same clock, up to the store's precision.
        const slack = 5_000; // Cassandra's clock has 1 ms precision
        assert.ok(first >= before - slack && second <= after + slack, `store clock ${first}..${second} outside this host's ${before}..${after}`);
        t.diagnostic(`store clock - host clock: ${((first + second) / 2 - (before + after) / 2) / 1000} ms, read in ${(after - before) / 1000} ms`);
      });
    });

    describe('lifecycle', () => {
      it('ping resolves; close is idempotent; calls after close fail UNAVAILABLE', async () => {
        const own = await makeStores();
        await own.ping();
        assert.equal(typeof own.capabilities.durable, 'boolean');
        await own.close();
        await own.close();
        const part = own.events ?? own.counterCache;
        const call = own.events ? own.events.listSlices('x') : own.counterCache?.get('x');
        if (part && call) {
          await assert.rejects(call, (err: unknown) => isDgwError(err) && err.code === 'UNAVAILABLE');
        }
      });
    });
  });
}
