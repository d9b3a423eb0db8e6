/**
 * LiveWindows (src/core/counter/live-window.ts): ACCURATE counts from remembered segments
 * equal a full fold of the store at every read, through writes anywhere in the window,
 * clears, checkpoint moves, writes committing while a read scans, and saturation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveWindows, CELL_MICROS } from '../../src/core/counter/live-window.js';
import { foldEvents, type CounterMutation } from '../../src/core/counter/counter-events.js';
import type { RollupCheckpoint } from '../../src/domain/counters.js';

const NS = 'counter:n';
const C = 'c';

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Store {
  events: CounterMutation[] = [];
  scans = 0;
  scanned = 0;
  /** Runs once inside the next scan, after its snapshot: a commit racing the read. */
  duringScan: (() => void) | undefined;
  scan = async (from: number, to: number): Promise<CounterMutation[]> => {
    this.scans++;
    const out = this.events.filter((e) => e.timeMicros >= from && e.timeMicros <= to);
    this.scanned += out.length;
    await Promise.resolve();
    const during = this.duringScan;
    this.duringScan = undefined;
    during?.();
    return out;
  };
  truth(base: RollupCheckpoint, to: number): bigint {
    return foldEvents(base.count, this.events.filter((e) => e.timeMicros > base.rollupTsMicros && e.timeMicros <= to)).count;
  }
}

function write(w: LiveWindows, store: Store, m: CounterMutation): void {
  w.touch(NS, C, m.timeMicros);
  store.events.push(m);
  w.touch(NS, C, m.timeMicros);
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`counts equal a full fold at every read (seed ${seed})`, async () => {
    const r = rng(seed);
    const store = new Store();
    const w = new LiveWindows();
    let now = 10_000_000;
    let base: RollupCheckpoint = { count: 0n, rollupTsMicros: 0 };
    for (let step = 0; step < 3000; step++) {
      now += Math.floor(r() * 20_000);
      const p = r();
      const time = now - Math.floor(r() * 5_000_000) + Math.floor(r() * 500_000);
      if (p < 0.5) {
        write(w, store, { kind: 'add', timeMicros: time, delta: BigInt(Math.floor(r() * 200) - 50) });
      } else if (p < 0.53) {
        write(w, store, { kind: 'clear', timeMicros: time });
      } else if (p < 0.58) {
        // A rollup: the checkpoint moves to now − 6 s with the exact count there.
        const ts = Math.max(base.rollupTsMicros, now - 6_000_000);
        base = { count: store.truth(base, ts), rollupTsMicros: ts };
        // Events at or before a checkpoint are never stored again (claims refuse them).
        store.events = store.events.filter((e) => e.timeMicros > ts);
      } else if (p < 0.62) {
        // A write commits while the read scans: the read may miss it, the next one may not.
        const m: CounterMutation = { kind: 'add', timeMicros: time, delta: 1000n };
        w.touch(NS, C, time);
        store.duringScan = () => {
          store.events.push(m);
          w.touch(NS, C, time);
        };
        const to = now + 1_000_000;
        await w.count(NS, C, base, to, now - 6_000_000, store.scan);
        store.duringScan = undefined;
        if (!store.events.includes(m)) write(w, store, m);
        assert.equal(await w.count(NS, C, base, to, now - 6_000_000, store.scan), store.truth(base, to), `step ${step} after a racing commit`);
      } else {
        const to = now + 1_000_000;
        assert.equal(await w.count(NS, C, base, to, now - 6_000_000, store.scan), store.truth(base, to), `step ${step}`);
      }
    }
  });
}

test('a read after a write scans about one cell, not the window', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  let now = 100_000_000;
  for (let i = 0; i < 1000; i++) {
    now += 5_000; // 200 writes per second
    write(w, store, { kind: 'add', timeMicros: now, delta: 1n });
    store.scanned = 0;
    assert.equal(await w.count(NS, C, base, now + 1_000_000, now - 6_000_000, store.scan), BigInt(i + 1));
    if (i > 10) assert.ok(store.scanned <= CELL_MICROS / 5_000 + 1, `read ${i} scanned ${store.scanned} events`);
  }
});

test('a stale checkpoint falls back to a full scan; a forgotten namespace rescans', async () => {
  const store = new Store();
  const w = new LiveWindows();
  for (let t = 1; t <= 50; t++) write(w, store, { kind: 'add', timeMicros: t * 100_000, delta: 1n });
  const late = { count: 10n, rollupTsMicros: 1_000_000 };
  assert.equal(await w.count(NS, C, late, 10_000_000, 0, store.scan), 50n);
  const early = { count: 0n, rollupTsMicros: 0 };
  assert.equal(await w.count(NS, C, early, 10_000_000, 0, store.scan), 50n);
  store.events.push({ kind: 'add', timeMicros: 2_000_000, delta: 5n }); // behind the memory's back
  w.forgetNamespace(NS);
  assert.equal(await w.count(NS, C, late, 10_000_000, 0, store.scan), 55n);
});

test('saturation near the int64 limits is the ordered fold', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const max = 2n ** 63n - 1n;
  write(w, store, { kind: 'add', timeMicros: 1_000_000, delta: max });
  write(w, store, { kind: 'add', timeMicros: 2_000_000, delta: 10n });
  write(w, store, { kind: 'add', timeMicros: 3_000_000, delta: -5n });
  const base = { count: 0n, rollupTsMicros: 0 };
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), max - 5n);
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), max - 5n);
});
