/**
 * Issue 14 item 7 (memory store, injected clock): a write or a lifecycle pass used to
 * create every slice between the existing ones and the one it needed, and failed for good
 * past 64 ("a namespace that can never write again": 1 s slices after 80 s down, or a
 * backfill). Now only the slices holding an event are created (short gaps filled), reads
 * see events across the gaps, and a request needing too many new slices is told to split.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MICROS_PER_SECOND } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { isDgwError } from '../../src/kernel/errors.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, EventStore, SliceInfo, StoreSet } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';

const SEC = MICROS_PER_SECOND;
const view = createEmbeddedStoreResolver('memory', { stores: ['memory'] });

function setup() {
  const clock = new ManualClock();
  const set = createMemoryStores();
  const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', set]]) });
  const name = `ns_${Math.random().toString(36).slice(2, 8)}`;
  const doc = {
    persistence_configuration: [
      { id: 'PRIMARY_STORAGE', config: { acceptLimit: '1h', timePartition: { secondsPerTimeSlice: 1, secondsPerTimeBucket: 1, eventBuckets: 1 } } },
    ],
  };
  const config = parseTimeSeriesNamespace(name, doc, view).config;
  const ev = (id: string, micros: number): EventRecord => ({ timeSeriesId: 's', eventTimeMicros: micros, eventId: id, items: [{ key: 'k', value: new Uint8Array([1]) }] });
  const ids = async () =>
    (
      await engine.read(config, {
        timeSeriesId: 's',
        startMicros: 0,
        endMicros: clock.nowMicros() + 120 * SEC,
        eventFilters: [],
        pageSize: 1000,
        totalRecordLimit: 0,
        allowPartial: false,
      })
    ).events.map((e) => e.eventId);
  const slices = () => set.events!.listSlices(name);
  return { clock, engine, config, ev, ids, slices };
}

function assertNoOverlap(slices: readonly SliceInfo[]): void {
  for (let i = 1; i < slices.length; i++) assert.ok(slices[i]!.startMicros >= slices[i - 1]!.endMicros, 'slices never overlap');
}

describe('TimeSeries slices: only the slices a write needs', () => {
  it('1 s slices after 80 s down: the lifecycle pass and writes work at once', async () => {
    const { clock, engine, config, ev, ids, slices } = setup();
    await engine.runLifecycle(config);
    await engine.writeSync(config, [ev('before', clock.nowMicros())]);
    clock.advance(80 * SEC);
    const result = await engine.runLifecycle(config);
    assert.ok(result.created > 0 && result.created <= 10, `created ${result.created}`);
    await engine.writeSync(config, [ev('after', clock.nowMicros())]);
    assert.deepEqual(await ids(), ['after', 'before']);
    assertNoOverlap(await slices());
  });

  it('a backfill far behind the first slice creates just the slice it needs', async () => {
    const { clock, engine, config, ev, ids, slices } = setup();
    const now = clock.nowMicros();
    await engine.writeSync(config, [ev('now', now)]);
    const before = (await slices()).length;
    await engine.writeSync(config, [ev('old', now - 1800 * SEC), ev('older', now - 3000 * SEC)]);
    assert.equal((await slices()).length, before + 2);
    assert.deepEqual(await ids(), ['now', 'old', 'older']);
    // A write into the gap between them later lands in a slice of its own, on the grid.
    await engine.writeSync(config, [ev('middle', now - 2400 * SEC + 300_000)]);
    const all = await slices();
    assertNoOverlap(all);
    const middle = all.find((s) => s.startMicros <= now - 2400 * SEC && now - 2400 * SEC < s.endMicros)!;
    assert.equal(middle.endMicros - middle.startMicros, SEC);
    assert.deepEqual(await ids(), ['now', 'old', 'middle', 'older']);
  });

  it('a request needing more than 64 new slices is told to split it, and the halves succeed', async () => {
    const { clock, engine, config, ev, ids } = setup();
    const now = clock.nowMicros();
    const events = Array.from({ length: 100 }, (_, i) => ev(`e${i}`, now - (i + 1) * 10 * SEC));
    await assert.rejects(engine.writeSync(config, events), (err: unknown) => {
      assert.ok(isDgwError(err) && err.code === 'FAILED_PRECONDITION', String(err));
      assert.match(err.message, /need 100 time slices .* send them in smaller batches/);
      return true;
    });
    await engine.writeSync(config, events.slice(0, 50));
    await engine.writeSync(config, events.slice(50));
    assert.equal((await ids()).length, 100);
  });

  it('two instances creating slices on different grids at once both succeed (re-plan after an overlap)', async () => {
    const clock = new ManualClock(Date.UTC(2024, 9, 3, 12, 0, 0) * 1000);
    const base = createMemoryStores();
    const events = base.events!;
    let reads = 0;
    let interleave: (() => Promise<void>) | undefined;
    // Instance B's store: its second slice-list read (the fresh one right before it creates
    // slices) lets instance A create its slice first.
    const bEvents: EventStore = {
      listSlices: async (ns) => {
        const list = await events.listSlices(ns);
        if (++reads === 2 && interleave) await interleave();
        return list;
      },
      createSlice: (ns, sl) => events.createSlice(ns, sl),
      setSliceStatus: (ns, id, st) => events.setSliceStatus(ns, id, st),
      appendEvents: (w, o) => events.appendEvents(w, o),
      findEvents: (l) => events.findEvents(l),
      scanPartition: (sc) => events.scanPartition(sc),
      dropNamespace: (ns) => events.dropNamespace(ns),
    };
    const bSet: StoreSet = { ...base, name: 'memory', capabilities: base.capabilities, events: bEvents, ping: () => base.ping(), close: () => base.close() };
    const engineA = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', base]]) });
    const engineB = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', bSet]]) });
    const doc = (width: number) => ({
      persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition: { secondsPerTimeSlice: width, secondsPerTimeBucket: 60 } } }],
    });
    const name = `ns_${Math.random().toString(36).slice(2, 8)}`;
    const a = parseTimeSeriesNamespace(name, doc(3600), view).config;
    const b = parseTimeSeriesNamespace(name, doc(7200), view).config;
    const x = Date.UTC(2024, 9, 3, 10, 0, 0) * 1000; // on both grids
    const ev = (id: string, micros: number): EventRecord => ({ timeSeriesId: 's', eventTimeMicros: micros, eventId: id, items: [{ key: 'k', value: new Uint8Array([1]) }] });
    interleave = async () => {
      interleave = undefined;
      await engineA.writeSync(a, [ev('a', x + 100 * SEC)]); // creates [x, x+1h)
    };
    // B plans [x, x+2h), which now overlaps A's slice: it must re-plan, not fail.
    await engineB.writeSync(b, [ev('b1', x + 100 * SEC + 1), ev('b2', x + 5000 * SEC)]);
    const all = await events.listSlices(name);
    assertNoOverlap(all);
    const page = await engineB.read(b, { timeSeriesId: 's', startMicros: 0, endMicros: clock.nowMicros(), eventFilters: [], pageSize: 10, totalRecordLimit: 0, allowPartial: false });
    assert.deepEqual(page.events.map((e) => e.eventId), ['b2', 'b1', 'a']);
  });
});
