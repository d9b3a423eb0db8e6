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
import { prng } from '../support/dgw-load.js';

const NS = 'counter:n';
const C = 'c';


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
    const r = prng(seed);
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

test('an older checkpoint scans the gap; a forgotten namespace rescans', async () => {
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

for (const seed of [11, 12, 13, 14]) {
  test(`reads racing several writes, concurrently, stay exact afterwards (seed ${seed})`, async () => {
    const r = prng(seed);
    const store = new Store();
    const w = new LiveWindows();
    let now = 10_000_000;
    let base: RollupCheckpoint = { count: 0n, rollupTsMicros: 0 };
    // Writes begun (touched) but not committed: each scan may commit some of them.
    let pending: CounterMutation[] = [];
    const commitSome = () => {
      const keep: CounterMutation[] = [];
      for (const m of pending) {
        if (r() < 0.5) {
          store.events.push(m);
          w.touch(NS, C, m.timeMicros);
        } else keep.push(m);
      }
      pending = keep;
    };
    const scan = async (from: number, to: number): Promise<CounterMutation[]> => {
      const out = store.events.filter((e) => e.timeMicros >= from && e.timeMicros <= to);
      await Promise.resolve();
      commitSome();
      return out;
    };
    for (let step = 0; step < 1500; step++) {
      now += Math.floor(r() * 20_000);
      const to = now + 1_000_000;
      if (r() < 0.05) {
        const ts = Math.max(base.rollupTsMicros, now - 6_000_000);
        base = { count: store.truth(base, ts), rollupTsMicros: ts };
        store.events = store.events.filter((e) => e.timeMicros > ts);
        pending = pending.filter((e) => e.timeMicros > ts);
      }
      for (let i = Math.floor(r() * 4); i > 0; i--) {
        const time = now - Math.floor(r() * 5_000_000) + Math.floor(r() * 500_000);
        if (time <= base.rollupTsMicros) continue;
        const m: CounterMutation = r() < 0.05 ? { kind: 'clear', timeMicros: time } : { kind: 'add', timeMicros: time, delta: BigInt(Math.floor(r() * 200) - 50) };
        w.touch(NS, C, time);
        pending.push(m);
      }
      await Promise.all([w.count(NS, C, base, to, now - 6_000_000, scan), w.count(NS, C, base, to, now - 6_000_000, scan)]);
      // Every begun write committed (its after-touch done): a read now is exact.
      for (const m of pending) {
        store.events.push(m);
        w.touch(NS, C, m.timeMicros);
      }
      pending = [];
      const plain = async (from: number, t: number) => store.events.filter((e) => e.timeMicros >= from && e.timeMicros <= t);
      assert.equal(await w.count(NS, C, base, to, now - 6_000_000, plain), store.truth(base, to), `step ${step}`);
    }
  });
}

test('a read that raced a write keeps the part of its scan before the write', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  for (let t = 1; t <= 60; t++) write(w, store, { kind: 'add', timeMicros: t * 100_000, delta: 1n });
  // A write at 5.95 s begins and commits while the first read scans.
  w.touch(NS, C, 5_950_000);
  store.duringScan = () => {
    store.events.push({ kind: 'add', timeMicros: 5_950_000, delta: 1n });
    w.touch(NS, C, 5_950_000);
  };
  await w.count(NS, C, base, 7_000_000, 0, store.scan);
  store.scanned = 0;
  assert.equal(await w.count(NS, C, base, 7_000_000, 0, store.scan), 61n);
  // The cell of the write (5.9 s and 5.95 s) and the one after (6 s); before: all 61.
  assert.ok(store.scanned <= 3, `the second read scanned ${store.scanned} events, not the window`);
});

test('a first rollup ending before the first write costs a short scan, not the window', async () => {
  const store = new Store();
  const w = new LiveWindows();
  // Never rolled up: reads start just before the first write (rollup.ts scanStart).
  const first = { count: 0n, rollupTsMicros: 9_999_999 };
  let now = 10_000_000;
  write(w, store, { kind: 'add', timeMicros: now, delta: 1n });
  assert.equal(await w.count(NS, C, first, now + 1_000_000, now - 6_000_000, store.scan), 1n);
  // The first rollup ends at now − 6 s, before the first write: an older checkpoint, count 0.
  const rolled = { count: 0n, rollupTsMicros: 4_500_000 };
  for (let i = 2; i <= 200; i++) {
    now += 5_000;
    write(w, store, { kind: 'add', timeMicros: now, delta: 1n });
    store.scanned = 0;
    assert.equal(await w.count(NS, C, rolled, now + 1_000_000, now - 6_000_000, store.scan), BigInt(i));
    if (i > 10) assert.ok(store.scanned <= CELL_MICROS / 5_000 + 1, `read ${i} scanned ${store.scanned} events`);
  }
});
