/**
 * The TimeSeries engine on the memory store with an injected clock: group commit,
 * deadlines with allowPartial, adaptive fanout, slice tiling and the retry rule.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MICROS_PER_SECOND, type Clock } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { FanoutTuner, START_FANOUT } from '../../src/core/timeseries/read-path.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, EventStore, StoreSet } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';
import { DgwError } from '../../src/kernel/errors.js';

const view = createEmbeddedStoreResolver('memory', { stores: ['memory'] });
const config = (doc: unknown, name = `ns_${Math.random().toString(36).slice(2, 8)}`) => parseTimeSeriesNamespace(name, doc, view).config;

/** Wraps a store set's event store to count and slow down calls. */
function instrument(set: StoreSet, onScan?: () => void) {
  const events = set.events!;
  const counts = { append: 0, appendedEvents: 0, scans: 0 };
  const wrapped: EventStore = {
    listSlices: (ns) => events.listSlices(ns),
    createSlice: (ns, s) => events.createSlice(ns, s),
    setSliceStatus: (ns, id, st) => events.setSliceStatus(ns, id, st),
    findEvents: (l) => events.findEvents(l),
    dropNamespace: (ns) => events.dropNamespace(ns),
    appendEvents: async (w) => {
      counts.append++;
      counts.appendedEvents += w.length;
      return events.appendEvents(w);
    },
    scanPartition: async (s) => {
      counts.scans++;
      onScan?.();
      return events.scanPartition(s);
    },
  };
  const set2: StoreSet = { ...set, name: set.name, capabilities: set.capabilities, events: wrapped, ping: () => set.ping(), close: () => set.close() };
  return { set: set2, counts };
}

function engineWith(clock: Clock, set: StoreSet) {
  const catalog = new StoreCatalog('memory', [['memory', set]]);
  return createTimeSeriesService({ clock, catalog });
}

const ev = (id: string, micros: number, series = 's'): EventRecord => ({
  timeSeriesId: series,
  eventTimeMicros: micros,
  eventId: id,
  items: [{ key: 'k', value: new Uint8Array([1, 2, 3]) }],
});

describe('TimeSeries engine', () => {
  it('group-commits concurrent sync writes into few store commits', async () => {
    const clock = new ManualClock();
    const { set, counts } = instrument(createMemoryStores());
    const engine = engineWith(clock, set);
    const cfg = config({});
    await engine.writeSync(cfg, [ev('warm', clock.nowMicros())]);
    counts.append = 0;
    await Promise.all(Array.from({ length: 200 }, (_, i) => engine.writeSync(cfg, [ev(`e${i}`, clock.nowMicros() - i)])));
    assert.ok(counts.append <= 3, `200 concurrent writes took ${counts.append} commits`);
    const page = await engine.read(cfg, { timeSeriesId: 's', startMicros: 0, endMicros: clock.nowMicros() + 1, eventFilters: [], pageSize: 1000, totalRecordLimit: 0, allowPartial: false });
    assert.equal(page.events.length, 201);
  });

  it('a failing request in a shared commit does not fail its neighbours', async () => {
    const clock = new ManualClock();
    const base = createMemoryStores();
    const events = base.events!;
    let failNext = true;
    const flaky: StoreSet = {
      ...base,
      name: 'memory',
      capabilities: base.capabilities,
      ping: () => base.ping(),
      close: () => base.close(),
      events: {
        ...events,
        listSlices: (ns) => events.listSlices(ns),
        createSlice: (ns, s) => events.createSlice(ns, s),
        setSliceStatus: (ns, id, st) => events.setSliceStatus(ns, id, st),
        findEvents: (l) => events.findEvents(l),
        scanPartition: (s) => events.scanPartition(s),
        dropNamespace: (ns) => events.dropNamespace(ns),
        appendEvents: async (w) => {
          if (w.some((x) => x.event.eventId === 'poison') && failNext) throw new DgwError('UNAVAILABLE', 'boom');
          return events.appendEvents(w);
        },
      },
    };
    const engine = engineWith(clock, flaky);
    const cfg = config({});
    const results = await Promise.allSettled([
      engine.writeSync(cfg, [ev('a', clock.nowMicros())]),
      engine.writeSync(cfg, [ev('poison', clock.nowMicros())]),
      engine.writeSync(cfg, [ev('b', clock.nowMicros())]),
    ]);
    failNext = false;
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });

  it('returns a partial page newest first when the deadline passes and allowPartial is set', async () => {
    const clock = new ManualClock();
    // Every partition scan "takes" 10 ms of injected time.
    const { set } = instrument(createMemoryStores(), () => clock.advanceMs(10));
    const engine = engineWith(clock, set);
    const cfg = config({ persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition: { secondsPerTimeSlice: 3600, secondsPerTimeBucket: 60, eventBuckets: 2 } } }] });
    const now = clock.nowMicros();
    const batch = Array.from({ length: 50 }, (_, i) => ev(`e${i}`, now - i * 60 * MICROS_PER_SECOND));
    await engine.writeSync(cfg, batch);
    const q = { timeSeriesId: 's', startMicros: now - 3600 * MICROS_PER_SECOND * 2, endMicros: now + 1, eventFilters: [], pageSize: 100, totalRecordLimit: 0 };
    await assert.rejects(
      engine.read(cfg, { ...q, deadlineMicros: clock.nowMicros() + 50_000, allowPartial: false }),
      (err: unknown) => err instanceof DgwError && err.code === 'DEADLINE_EXCEEDED',
    );
    const partial = await engine.read(cfg, { ...q, deadlineMicros: clock.nowMicros() + 50_000, allowPartial: true });
    assert.equal(partial.partial, true);
    assert.ok(partial.events.length > 0 && partial.events.length < 50, `got ${partial.events.length}`);
    assert.deepEqual(partial.events.map((e) => e.eventId), batch.slice(0, partial.events.length).map((e) => e.eventId));
    // The token continues exactly where the partial page stopped.
    const rest = await engine.read(cfg, { ...q, allowPartial: false, ...(partial.nextPageToken ? { pageToken: partial.nextPageToken } : {}) });
    assert.deepEqual([...partial.events, ...rest.events].map((e) => e.eventId), batch.map((e) => e.eventId));
  });

  it('adapts fanout: narrower for dense series, wider for sparse ones, within bounds', () => {
    const tuner = new FanoutTuner();
    assert.equal(tuner.get('n'), START_FANOUT);
    tuner.observe('n', 8, 100, true);
    assert.equal(tuner.get('n'), 4);
    for (let i = 0; i < 10; i++) tuner.observe('n', 8, 0, false);
    assert.equal(tuner.get('n'), 64);
    for (let i = 0; i < 10; i++) tuner.observe('n', 8, 100, true);
    assert.equal(tuner.get('n'), 1);
  });

  it('tiles slices without gaps when events arrive out of order, and keeps old slice settings', async () => {
    const clock = new ManualClock(Date.UTC(2024, 9, 3, 12, 0, 0) * 1000);
    const set = createMemoryStores();
    const engine = engineWith(clock, set);
    const name = 'tiling';
    const c1 = config({ persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition: { secondsPerTimeSlice: 3600, secondsPerTimeBucket: 600, eventBuckets: 2 } } }] }, name);
    const now = clock.nowMicros();
    await engine.writeSync(c1, [ev('a', now)]);
    await engine.writeSync(c1, [ev('b', now - 5 * 3600 * MICROS_PER_SECOND)]);
    const c2 = config({ persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition: { secondsPerTimeSlice: 7200, secondsPerTimeBucket: 1800, eventBuckets: 8 } } }] }, name);
    await engine.writeSync(c2, [ev('c', now + 50 * MICROS_PER_SECOND)]);
    clock.advanceMs(3 * 3600 * 1000);
    await engine.writeSync(c2, [ev('d', clock.nowMicros())]);
    const slices = await set.events!.listSlices(name);
    for (let i = 1; i < slices.length; i++) assert.equal(slices[i]!.startMicros, slices[i - 1]!.endMicros, 'no gaps');
    assert.equal(slices[0]!.eventBuckets, 2);
    assert.equal(slices.at(-1)!.eventBuckets, 8);
    assert.equal(slices.at(-1)!.endMicros - slices.at(-1)!.startMicros, 7200 * MICROS_PER_SECOND);
    const page = await engine.read(c2, { timeSeriesId: 's', startMicros: 0, endMicros: clock.nowMicros() + 1, eventFilters: [], pageSize: 10, totalRecordLimit: 0, allowPartial: false });
    assert.deepEqual(page.events.map((e) => e.eventId), ['d', 'c', 'a', 'b']);
  });
});
