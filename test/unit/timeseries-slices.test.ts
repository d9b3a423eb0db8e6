/**
 * Issue 14 item 7 (memory store, injected clock): a write or a lifecycle pass used to
 * create every slice between the existing ones and the one it needed, and failed for good
 * past 64 ("a namespace that can never write again": 1 s slices after 80 s down, or a
 * backfill). Now only the slices holding an event are created (short gaps filled), reads
 * see events across the gaps, and a request needing too many new slices is told to split.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MICROS_PER_SECOND } from '../../src/core/clock.js';
import { createEmbeddedCatalogView } from '../../src/core/control/store-catalog-view.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { isDgwError } from '../../src/core/errors.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, SliceInfo } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/index.js';

const SEC = MICROS_PER_SECOND;
const view = createEmbeddedCatalogView('memory', { stores: ['memory'] });

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
});
