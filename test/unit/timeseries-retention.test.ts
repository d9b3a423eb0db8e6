/**
 * Issue 14 item 8 (memory store, injected clock): one retention rule for Read, Search and
 * Aggregate. Search used to return events Read already hid after `close_after`, and
 * extending retention did not reopen CLOSED slices. Now an event is visible to all three
 * while its slice is readable, and extending `close_after` makes a CLOSED slice (whose
 * table is still there) readable again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MICROS_PER_SECOND } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import type { TimeSeriesConfig } from '../../src/core/control/types.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord } from '../../src/storage/contracts.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';

const HOUR = 3600 * MICROS_PER_SECOND;
const view = createEmbeddedStoreResolver('memory', { stores: ['memory'] });
const docWith = (closeAfter: string, deleteAfter: string) => ({
  persistence_configuration: [
    {
      id: 'PRIMARY_STORAGE',
      config: { acceptLimit: '1h', timePartition: { secondsPerTimeSlice: 3600 } },
      lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: closeAfter, delete_after: deleteAfter } }] },
    },
    { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { tag: 'KEYWORD' } } } },
  ],
});

describe('TimeSeries retention: one rule for Read, Search and Aggregate', () => {
  it('hides closed slices from all three, and reopens them when retention is extended', async () => {
    const clock = new ManualClock();
    const set = createMemoryStores();
    const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('memory', [['memory', set]]) });
    const name = `ns_${Math.random().toString(36).slice(2, 8)}`;
    const short = parseTimeSeriesNamespace(name, docWith('2h', '48h'), view).config;
    const long = parseTimeSeriesNamespace(name, docWith('12h', '48h'), view).config;
    const t0 = clock.nowMicros();
    const ev = (id: string, micros: number): EventRecord => ({
      timeSeriesId: 's',
      eventTimeMicros: micros,
      eventId: id,
      items: [{ key: 'tag', value: new TextEncoder().encode('x') }],
    });
    await engine.writeSync(short, [ev('old', t0)]);
    const visible = async (config: TimeSeriesConfig) => {
      const interval = { startMicros: 0, endMicros: clock.nowMicros() + 1 };
      const read = await engine.read(config, { timeSeriesId: 's', ...interval, eventFilters: [], pageSize: 100, totalRecordLimit: 0, allowPartial: false });
      const search = await engine.search(config, { ...interval, query: { all: true }, pageSize: 100, totalRecordLimit: 0 });
      const count = await engine.aggregate(config, { kind: 'count', ...interval, query: { all: true } });
      const distinct = await engine.aggregate(config, { kind: 'distinct', ...interval, query: { all: true }, key: 'tag', pageSize: 10 });
      return {
        read: read.events.map((e) => e.eventId),
        search: search.events.map((e) => e.eventId),
        count: count.kind === 'count' ? count.count : -1,
        distinct: distinct.kind === 'distinct' ? distinct.values.map((v) => `${v.text}:${v.count}`) : [],
      };
    };
    assert.deepEqual(await visible(short), { read: ['old'], search: ['old'], count: 1, distinct: ['x:1'] });

    clock.advance(4 * HOUR);
    await engine.writeSync(short, [ev('new', clock.nowMicros())]);
    const closed = await engine.runLifecycle(short);
    assert.ok(closed.closed >= 1);
    assert.deepEqual(await visible(short), { read: ['new'], search: ['new'], count: 1, distinct: ['x:1'] });

    const reopened = await engine.runLifecycle(long);
    assert.equal(reopened.reopened, closed.closed);
    assert.deepEqual(await visible(long), { read: ['new', 'old'], search: ['new', 'old'], count: 2, distinct: ['x:2'] });
  });
});
