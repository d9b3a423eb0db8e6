/**
 * LiveWindows writes bracketed by beginWrite / endWrite (src/core/counter/live-window.ts):
 * a newly stored event is folded into what is remembered instead of being rescanned; a
 * duplicate, a failed or an in-doubt write drops what could hold it. Counts must equal a
 * full fold of the store whenever no write is in flight, through commits and ends that
 * land while reads scan, concurrent reads, clears, retries and checkpoint moves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveWindows, CELL_MICROS, TAIL_MICROS } from '../../src/core/counter/live-window.js';
import { addEvent, clearEvent, decodeCounterEvent, foldEvents, type CounterMutation } from '../../src/core/counter/counter-events.js';
import type { EventRecord } from '../../src/domain/events.js';
import type { RollupCheckpoint } from '../../src/domain/counters.js';
import { prng } from '../support/dgw-load.js';

const NS = 'counter:n';
const C = 'c';

/** How a write ends: newly stored, a retry of a stored event, nothing stored, stored but not known to be. */
type Outcome = 'fresh' | 'duplicate' | 'failed' | 'in-doubt';

interface Write {
  event: EventRecord;
  outcome: Outcome;
  committed: boolean;
}

/** The store: events by identity (time, id), first write wins; one item each. */
class Store {
  events = new Map<string, EventRecord>();
  scans = 0;
  scanned = 0;
  /** Runs inside each scan, after its snapshot: commits and write ends racing the read. */
  duringScan: (() => void) | undefined;

  put(e: EventRecord): boolean {
    const id = `${e.eventTimeMicros}/${e.eventId}`;
    if (this.events.has(id)) return false;
    this.events.set(id, e);
    return true;
  }

  mutations(): CounterMutation[] {
    return [...this.events.values()].map((e) => decodeCounterEvent(e)!);
  }

  scan = async (from: number, to: number): Promise<CounterMutation[]> => {
    this.scans++;
    const out = this.mutations().filter((m) => m.timeMicros >= from && m.timeMicros <= to);
    this.scanned += out.length;
    await Promise.resolve();
    this.duringScan?.();
    await Promise.resolve();
    return out;
  };

  truth(base: RollupCheckpoint, to: number): bigint {
    return foldEvents(base.count, this.mutations().filter((m) => m.timeMicros > base.rollupTsMicros && m.timeMicros <= to)).count;
  }
}

/** Commits a begun write (per its outcome) if not yet done. */
function commit(store: Store, w: Write): void {
  if (w.committed) return;
  w.committed = true;
  if (w.outcome === 'fresh') assert.ok(store.put(w.event), 'a fresh write stores a new event');
  else if (w.outcome === 'in-doubt') store.put(w.event);
}

/** Ends a write: the event only when its commit newly stored it. */
function end(windows: LiveWindows, store: Store, w: Write): void {
  commit(store, w);
  windows.endWrite(NS, C, w.event.eventTimeMicros, w.outcome === 'fresh' ? w.event : undefined);
}

function writeNow(windows: LiveWindows, store: Store, w: Write): void {
  windows.beginWrite(NS, C, w.event.eventTimeMicros);
  end(windows, store, w);
}

for (const seed of [21, 22, 23, 24, 25, 26]) {
  test(`own writes folded in, others rescanned: exact whenever no write is in flight (seed ${seed})`, async () => {
    const r = prng(seed);
    const store = new Store();
    const w = new LiveWindows();
    let now = 10_000_000;
    let base: RollupCheckpoint = { count: 0n, rollupTsMicros: 0 };
    let flying: Write[] = [];
    let ids = 0;
    const newWrite = (): Write | undefined => {
      // Mostly near now, sometimes anywhere in the window, often on another event's time.
      const stored = [...store.events.values()];
      const p = r();
      if (p < 0.1 && stored.length > 0) {
        // A retry (client retry, hedge) of a stored event: first write wins.
        const e = stored[Math.floor(r() * stored.length)]!;
        if (e.eventTimeMicros <= base.rollupTsMicros) return undefined;
        return { event: e, outcome: 'duplicate', committed: false };
      }
      const time = p < 0.3 && stored.length > 0 ? stored[Math.floor(r() * stored.length)]!.eventTimeMicros : now - Math.floor(r() * (r() < 0.7 ? 200_000 : 5_000_000)) + Math.floor(r() * 300_000);
      if (time <= base.rollupTsMicros) return undefined;
      const id = `e${ids++}`;
      const event = r() < 0.08 ? clearEvent(C, time, id) : addEvent(C, time, id, BigInt(Math.floor(r() * 200) - 50));
      const q = r();
      return { event, outcome: q < 0.8 ? 'fresh' : q < 0.9 ? 'failed' : 'in-doubt', committed: false };
    };
    /** Commits some writes in flight and ends some committed ones: what runs while a read awaits. */
    const progress = () => {
      const keep: Write[] = [];
      for (const f of flying) {
        const p = r();
        if (p < 0.35) commit(store, f);
        else if (p < 0.6 && f.committed) {
          end(w, store, f);
          continue;
        }
        keep.push(f);
      }
      flying = keep;
    };
    store.duringScan = progress;
    for (let step = 0; step < 2500; step++) {
      now += Math.floor(r() * 20_000);
      // Now and then a read whose end is earlier than the last one's (a clock stepped back).
      const to = now + (r() < 0.1 ? -Math.floor(r() * 1_500_000) : 1_000_000);
      const old = now - 6_000_000;
      if (r() < 0.04) {
        // A rollup: the checkpoint moves to now − 6 s with the exact count there. Writes at
        // or before it cannot commit any more (claims refuse them).
        const ts = Math.max(base.rollupTsMicros, old);
        for (const f of flying.filter((f) => f.event.eventTimeMicros <= ts)) {
          if (!f.committed) f.outcome = 'failed';
          end(w, store, f);
        }
        flying = flying.filter((f) => f.event.eventTimeMicros > ts);
        base = { count: store.truth(base, ts), rollupTsMicros: ts };
        for (const [k, e] of store.events) if (e.eventTimeMicros <= ts) store.events.delete(k);
      }
      for (let i = Math.floor(r() * 4); i > 0; i--) {
        const f = newWrite();
        if (!f) continue;
        if (r() < 0.5) {
          writeNow(w, store, f);
        } else {
          w.beginWrite(NS, C, f.event.eventTimeMicros);
          flying.push(f);
        }
      }
      const reads = Math.floor(r() * 3);
      await Promise.all(Array.from({ length: reads }, () => w.count(NS, C, base, to, old, store.scan)));
      if (r() < 0.3) {
        for (const f of flying) end(w, store, f);
        flying = [];
      }
      if (flying.length === 0) {
        assert.equal(await w.count(NS, C, base, to, old, store.scan), store.truth(base, to), `step ${step}`);
      }
    }
  });
}

test("a counter's own writes are folded in: the next read scans none of their events", async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  let now = 100_000_000;
  for (let i = 0; i < 1000; i++) {
    now += 5_000; // 200 writes per second
    writeNow(w, store, { event: addEvent(C, now, `a${i}`, 1n), outcome: 'fresh', committed: false });
    store.scanned = 0;
    assert.equal(await w.count(NS, C, base, now + 1_000_000, now - 6_000_000, store.scan), BigInt(i + 1));
    if (i > 0) assert.equal(store.scanned, 0, `read ${i} scanned ${store.scanned} events`);
  }
});

test('a retry of a stored event is not counted twice, and its time is read again', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  const t = 5_000_000;
  const event = addEvent(C, t, 'once', 7n);
  writeNow(w, store, { event, outcome: 'fresh', committed: false });
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 7n);
  writeNow(w, store, { event, outcome: 'duplicate', committed: false });
  store.scanned = 0;
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 7n);
  assert.equal(store.scanned, 1, 'the duplicate dropped its cell: rescanned');
  // Hedged: two attempts in flight at once, the second ends first as the duplicate.
  const e2 = addEvent(C, t + 10, 'hedged', 5n);
  const first: Write = { event: e2, outcome: 'fresh', committed: false };
  const second: Write = { event: e2, outcome: 'duplicate', committed: false };
  w.beginWrite(NS, C, t + 10);
  w.beginWrite(NS, C, t + 10);
  commit(store, first);
  // In flight, the write is concurrent with the reads: counted or not, both are right.
  assert.ok([7n, 12n].includes(await w.count(NS, C, base, 10_000_000, 0, store.scan)));
  end(w, store, second);
  assert.ok([7n, 12n].includes(await w.count(NS, C, base, 10_000_000, 0, store.scan)));
  end(w, store, first);
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 12n);
});

test('a failed write changes nothing; an in-doubt one is read from the store', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  writeNow(w, store, { event: addEvent(C, 1_000_000, 'a', 3n), outcome: 'fresh', committed: false });
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 3n);
  writeNow(w, store, { event: addEvent(C, 1_000_001, 'b', 4n), outcome: 'failed', committed: false });
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 3n);
  writeNow(w, store, { event: addEvent(C, 1_000_002, 'c', 5n), outcome: 'in-doubt', committed: false });
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 8n);
});

test('clears: after every add of the segment, between its adds, at an add time, under a later clear', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 100n, rollupTsMicros: 0 };
  const at = (t: number) => 3 * CELL_MICROS + t; // all inside one cell
  const fresh = (event: EventRecord) => writeNow(w, store, { event, outcome: 'fresh', committed: false });
  const check = async (what: string) => assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), store.truth(base, 10_000_000), what);
  await check('empty');
  fresh(addEvent(C, at(10), 'a1', 5n));
  fresh(addEvent(C, at(30), 'a2', -2n));
  await check('two adds');
  fresh(clearEvent(C, at(20), 'c1')); // between the adds: only the later one is kept
  await check('a clear between adds');
  fresh(clearEvent(C, at(40), 'c2')); // after every add
  await check('a clear after every add');
  fresh(addEvent(C, at(40), 'a3', 9n)); // at the clear's time: the clear wins
  fresh(addEvent(C, at(35), 'a4', 9n)); // before it
  fresh(addEvent(C, at(50), 'a5', 11n)); // after it
  await check('adds around a clear');
  fresh(clearEvent(C, at(45), 'c3')); // later than the last clear, before the last add
  await check('a second clear between');
  fresh(clearEvent(C, at(44), 'c4')); // before the last clear: nothing changes
  await check('an older clear');
  fresh(clearEvent(C, at(50), 'c5')); // at the last add's time
  await check('a clear at the last add');
  assert.equal(await w.count(NS, C, base, 10_000_000, 0, store.scan), 0n);
});

test('a read that scanned a write committed before its end does not keep it twice', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  writeNow(w, store, { event: addEvent(C, 1_000_000, 'a', 1n), outcome: 'fresh', committed: false });
  assert.equal(await w.count(NS, C, base, 2_000_000, 0, store.scan), 1n);
  // Past what is remembered (to 2 s + TAIL_MICROS): the read scans it, committed, while still in flight.
  const t1 = 2_000_000 + TAIL_MICROS + 500_000;
  const late: Write = { event: addEvent(C, t1, 'b', 10n), outcome: 'fresh', committed: false };
  w.beginWrite(NS, C, t1);
  commit(store, late);
  assert.equal(await w.count(NS, C, base, t1 + 500_000, 0, store.scan), 11n);
  end(w, store, late);
  assert.equal(await w.count(NS, C, base, t1 + 500_000, 0, store.scan), 11n);
  // The same with the end landing while a second read scans.
  const t2 = t1 + 500_000 + TAIL_MICROS + 500_000;
  const later: Write = { event: addEvent(C, t2, 'c', 100n), outcome: 'fresh', committed: false };
  w.beginWrite(NS, C, t2);
  commit(store, later);
  store.duringScan = () => {
    store.duringScan = undefined;
    end(w, store, later);
  };
  assert.equal(await w.count(NS, C, base, t2 + 500_000, 0, store.scan), 111n);
  assert.equal(await w.count(NS, C, base, t2 + 500_000, 0, store.scan), 111n);
});

test('what a read remembers past its end is not counted before its time', async () => {
  const store = new Store();
  const w = new LiveWindows();
  const base = { count: 0n, rollupTsMicros: 0 };
  assert.equal(await w.count(NS, C, base, 1_000_000, 0, store.scan), 0n);
  // Inside the remembered tail, after this read's end: folded in, counted from its time on.
  writeNow(w, store, { event: addEvent(C, 1_500_000, 'a', 4n), outcome: 'fresh', committed: false });
  assert.equal(await w.count(NS, C, base, 1_000_000, 0, store.scan), 0n);
  assert.equal(await w.count(NS, C, base, 1_400_000, 0, store.scan), 0n);
  assert.equal(await w.count(NS, C, base, 1_500_000, 0, store.scan), 4n);
  // A read with an earlier end again (a clock stepped back): exact, and it stays so.
  assert.equal(await w.count(NS, C, base, 1_200_000, 0, store.scan), 0n);
  assert.equal(await w.count(NS, C, base, 1_700_000, 0, store.scan), 4n);
  writeNow(w, store, { event: clearEvent(C, 1_600_000, 'c'), outcome: 'fresh', committed: false });
  assert.equal(await w.count(NS, C, base, 1_550_000, 0, store.scan), 4n);
  assert.equal(await w.count(NS, C, base, 1_600_000, 0, store.scan), 0n);
});
