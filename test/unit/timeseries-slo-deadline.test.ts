/**
 * A namespace's `slos` as the engine's default deadlines (DESIGN 3.5): a read that names
 * no deadline stops at `slos.read.latency.max` (partial page, newest first, when allowed;
 * DEADLINE_EXCEEDED otherwise); an explicit deadline wins. Injected clock: every partition
 * scan "takes" 10 ms.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MICROS_PER_SECOND } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { DgwError } from '../../src/kernel/errors.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';

const view = createEmbeddedStoreResolver('memory', { stores: ['memory'] });
const partition = { secondsPerTimeSlice: 3600, secondsPerTimeBucket: 60, eventBuckets: 2 };
const doc = (slos?: unknown) => ({
  persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition: partition } }],
  ...(slos === undefined ? {} : { slos }),
});

function setup() {
  const clock = new ManualClock();
  const base = createMemoryStores();
  const events = base.events!;
  const slowScans: StoreSet = {
    ...base,
    name: base.name,
    capabilities: base.capabilities,
    ping: () => base.ping(),
    close: () => base.close(),
    events: {
      listSlices: (ns) => events.listSlices(ns),
      createSlice: (ns, s) => events.createSlice(ns, s),
      setSliceStatus: (ns, id, st) => events.setSliceStatus(ns, id, st),
      findEvents: (l) => events.findEvents(l),
      dropNamespace: (ns) => events.dropNamespace(ns),
      appendEvents: (w) => events.appendEvents(w),
      scanPartition: (s) => {
        clock.advanceMs(10);
        return events.scanPartition(s);
      },
    },
  };
  const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', slowScans]]) });
  return { clock, engine };
}

describe('TimeSeries engine: slos as default deadlines', () => {
  it('cuts a read without a deadline at slos.read.latency.max, newest first', async () => {
    const { clock, engine } = setup();
    const withSlo = parseTimeSeriesNamespace('slo_read', doc({ read: { latency: { target: '20ms', max: '50ms' } } }), view).config;
    const noSlo = parseTimeSeriesNamespace('slo_read', doc(), view).config;
    const now = clock.nowMicros();
    const batch = Array.from({ length: 50 }, (_, i) => ({
      timeSeriesId: 's',
      eventTimeMicros: now - i * 60 * MICROS_PER_SECOND,
      eventId: `e${i}`,
      items: [{ key: 'k', value: new Uint8Array([i]) }],
    }));
    await engine.writeSync(withSlo, batch);
    const q = { timeSeriesId: 's', startMicros: now - 7200 * MICROS_PER_SECOND, endMicros: now + 1, eventFilters: [], pageSize: 100, totalRecordLimit: 0 };

    const full = await engine.read(noSlo, { ...q, allowPartial: true });
    assert.equal(full.partial, false);
    assert.equal(full.events.length, 50);

    const partial = await engine.read(withSlo, { ...q, allowPartial: true });
    assert.equal(partial.partial, true);
    assert.ok(partial.events.length > 0 && partial.events.length < 50, `got ${partial.events.length}`);
    assert.deepEqual(partial.events.map((e) => e.eventId), batch.slice(0, partial.events.length).map((e) => e.eventId));

    await assert.rejects(engine.read(withSlo, { ...q, allowPartial: false }), (err: unknown) => err instanceof DgwError && err.code === 'DEADLINE_EXCEEDED');

    // An explicit deadline (the request's timeout, a gRPC deadline) wins over the SLO.
    const explicit = await engine.read(withSlo, { ...q, allowPartial: true, deadlineMicros: clock.nowMicros() + 3600 * MICROS_PER_SECOND });
    assert.equal(explicit.partial, false);
    assert.equal(explicit.events.length, 50);
  });
});
