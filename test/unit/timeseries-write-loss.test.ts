/**
 * Issue 14 items 3 and 4 on the engine (memory store, injected clock): what the store
 * would refuse is refused before a 202 (NUL, lone surrogates, NUL in an indexed text
 * value), and one buffered batch the store refuses at drain time loses only itself: the
 * other batches of the same drain are stored and the loss is counted in a metric.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock, MICROS_PER_SECOND } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { isDgwError } from '../../src/kernel/errors.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, EventStore, StoreSet } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';

const view = createEmbeddedStoreResolver('memory', { stores: ['memory'] });
const HOUR = 3600 * MICROS_PER_SECOND;
const doc = {
  persistence_configuration: [
    { id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition: { secondsPerTimeSlice: 3600, secondsPerTimeBucket: 60, eventBuckets: 2 } } },
    { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { tag: 'KEYWORD' } } } },
  ],
};
const ev = (id: string, micros: number, series = 's', value = 'v'): EventRecord => ({
  timeSeriesId: series,
  eventTimeMicros: micros,
  eventId: id,
  items: [{ key: 'tag', value: new TextEncoder().encode(value) }],
});

function setup() {
  const clock = new ManualClock();
  const set = createMemoryStores();
  const registry = new Registry();
  const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', set]]), registry });
  const name = `ns_${Math.random().toString(36).slice(2, 8)}`;
  const config = parseTimeSeriesNamespace(name, doc, view).config;
  const read = async (series = 's') =>
    (
      await engine.read(config, {
        timeSeriesId: series,
        startMicros: 0,
        endMicros: clock.nowMicros() + 1,
        eventFilters: [],
        pageSize: 1000,
        totalRecordLimit: 0,
        allowPartial: false,
      })
    ).events.map((e) => e.eventId);
  const lost = async () => {
    const m = await registry.getSingleMetric('dgw_timeseries_buffered_events_failed_total')?.get();
    return m?.values.find((v) => v.labels.namespace === name)?.value ?? 0;
  };
  return { clock, set, engine, config, read, lost };
}

const refusedNaming = (field: RegExp) => (err: unknown) => {
  assert.ok(isDgwError(err) && err.code === 'INVALID_ARGUMENT', String(err));
  assert.match(err.message, field);
  return true;
};

describe('TimeSeries write path: nothing acknowledged that the store will refuse', () => {
  it('refuses NUL and lone surrogates in series ids, event ids and item keys before queueing', async () => {
    const { clock, engine, config, read } = setup();
    const now = clock.nowMicros();
    const bad: [EventRecord, RegExp][] = [
      [ev('a', now, 'ser\u0000ies'), /events\[\d\]\.timeSeriesId: must not contain a NUL/],
      [ev('a\uD800', now), /events\[\d\]\.eventId: ill-formed Unicode: lone surrogate U\+D800/],
      [ev('\uDC00b', now), /events\[\d\]\.eventId: ill-formed Unicode: lone surrogate U\+DC00/],
      [{ ...ev('a', now), items: [{ key: 'k\uDBFF', value: new Uint8Array([1]) }] }, /eventItems\[0\]\.eventItemKey: ill-formed/],
      [ev('a', now, 's', 'x\u0000y'), /eventItems\[0\]\.eventItemValue: indexed KEYWORD field "tag" must not contain a NUL/],
    ];
    for (const [event, field] of bad) {
      await assert.rejects(engine.writeBuffered(config, [ev('good', now), event]), refusedNaming(field));
      await assert.rejects(engine.writeSync(config, [event]), refusedNaming(field));
    }
    // A well-formed surrogate pair is fine.
    await engine.writeSync(config, [ev('emoji \uD83D\uDE00', now)]);
    await engine.flushBuffers();
    assert.deepEqual(await read(), ['emoji \uD83D\uDE00']);
  });

  it('a buffered batch the store refuses at drain time loses only itself, counted in a metric', async () => {
    const { clock, set, engine, config, read, lost } = setup();
    const now = clock.nowMicros();
    // Batch "old" lands in a slice two hours back; the others in the current slice.
    await engine.writeBuffered(config, [ev('old1', now - 2 * HOUR), ev('old2', now - 2 * HOUR + 1)]);
    for (let i = 0; i < 5; i++) await engine.writeBuffered(config, [ev(`good${i}a`, now - i), ev(`good${i}b`, now - i - 100)]);
    // Retention drops the old slice between the 202 and the drain.
    const slices = await set.events!.listSlices(config.name);
    const oldSlice = slices.find((s) => s.startMicros <= now - 2 * HOUR && now - 2 * HOUR < s.endMicros)!;
    await set.events!.setSliceStatus(config.name, oldSlice.sliceId, 'DROPPED');
    await engine.flushBuffers();
    const stored = await read();
    assert.equal(stored.length, 10, `stored: ${stored.join(', ')}`);
    assert.ok(!stored.some((id) => id.startsWith('old')));
    assert.equal(await lost(), 2);
  });

  it('a write answered past its deadline is "outcome unknown", and so is its retry while it is in flight', async () => {
    const clock = new ManualClock();
    const base = createMemoryStores();
    const events = base.events!;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let stall = true;
    // A store whose next append hangs until the test releases it (a stalled store).
    const slow: EventStore = {
      listSlices: (ns) => events.listSlices(ns),
      createSlice: (ns, sl) => events.createSlice(ns, sl),
      setSliceStatus: (ns, id, st) => events.setSliceStatus(ns, id, st),
      appendEvents: async (w, o) => {
        if (stall) {
          stall = false;
          await gate;
        }
        return events.appendEvents(w, o);
      },
      findEvents: (l) => events.findEvents(l),
      scanPartition: (sc) => events.scanPartition(sc),
      dropNamespace: (ns) => events.dropNamespace(ns),
    };
    const set: StoreSet = { ...base, name: 'memory', capabilities: base.capabilities, events: slow, ping: () => base.ping(), close: () => base.close() };
    const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', set]]) });
    const doc = { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '5s' } }], slos: { write: { latency: { max: '2s' } } } }; // 2 s: the write reaches the stalled store first, even on a loaded machine
    const config = parseTimeSeriesNamespace(`ns_${Math.random().toString(36).slice(2, 8)}`, doc, view).config;
    const event = ev('e1', clock.nowMicros());
    await assert.rejects(engine.writeSync(config, [event]), (err: unknown) => {
      assert.ok(isDgwError(err) && err.code === 'DEADLINE_EXCEEDED', String(err));
      assert.match(err.message, /the outcome is unknown: the write may still be applied/);
      return true;
    });
    clock.advance(6 * MICROS_PER_SECOND); // past the accept window, the first attempt still stalled
    await assert.rejects(engine.writeSync(config, [event]), (err: unknown) => {
      assert.ok(isDgwError(err) && err.code === 'UNAVAILABLE', String(err));
      assert.match(err.message, /^events\[0\]\.eventTime: past the accept limit, but an earlier attempt .* outcome is unknown/);
      return true;
    });
    release();
    // Let the stalled attempt settle: it commits (the memory store checks its time bound
    // only before starting), so the retry is now a definite success, not "too old".
    for (let attempt = 0; ; attempt++) {
      try {
        await engine.writeSync(config, [event]);
        break;
      } catch (err) {
        // Still "outcome unknown" while the released attempt finishes committing; never "too old".
        if (!(isDgwError(err) && err.code === 'UNAVAILABLE') || attempt > 200) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  });
  it('a retry of a stored event whose commit comes after its accept window is a success, not "nothing stored"', async () => {
    const clock = new ManualClock();
    const base = createMemoryStores();
    const events = base.events!;
    let lateBy = 0;
    // The real memory store, reached `lateBy` µs after the engine computed the commit bound
    // (a slow queue in front of the store): the bound it sees is that much smaller.
    const late: EventStore = {
      listSlices: (ns) => events.listSlices(ns),
      createSlice: (ns, sl) => events.createSlice(ns, sl),
      setSliceStatus: (ns, id, st) => events.setSliceStatus(ns, id, st),
      appendEvents: (w, o) => events.appendEvents(w, o?.timeoutMicros === undefined ? o : { ...o, timeoutMicros: o.timeoutMicros - lateBy }),
      findEvents: (l) => events.findEvents(l),
      scanPartition: (sc) => events.scanPartition(sc),
      dropNamespace: (ns) => events.dropNamespace(ns),
    };
    const set: StoreSet = { ...base, name: 'memory', capabilities: base.capabilities, events: late, ping: () => base.ping(), close: () => base.close() };
    const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', set]]) });
    const doc = { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '5s' } }] };
    const config = parseTimeSeriesNamespace(`ns_${Math.random().toString(36).slice(2, 8)}`, doc, view).config;
    const stored = ev('stored', clock.nowMicros());
    await engine.writeSync(config, [stored]);
    lateBy = 10 * MICROS_PER_SECOND;
    // The retry: already stored, so the answer is the first write's success.
    await engine.writeSync(config, [stored]);
    // A new event whose commit comes too late is refused, and nothing of it is stored.
    const fresh = ev('fresh', clock.nowMicros());
    await assert.rejects(engine.writeSync(config, [fresh]), (err: unknown) => isDgwError(err) && err.code === 'DEADLINE_EXCEEDED');
    lateBy = 0;
    const page = await engine.read(config, { timeSeriesId: 's', startMicros: 0, endMicros: clock.nowMicros() + 1, eventFilters: [], pageSize: 10, totalRecordLimit: 0, allowPartial: false });
    assert.deepEqual(page.events.map((e) => e.eventId), ['stored']);
  });
});
