/**
 * Issue 14 item 3 on real PostgreSQL: 50 good WriteEventRecords batches and one with a
 * NUL in timeSeriesId used to be answered 202 all, and then none of the 51 was stored
 * (PostgreSQL refuses NUL in text, and the drain committed the queue as one). Now the bad
 * batch is refused before queueing, and every good batch is stored.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { isDgwError } from '../../src/kernel/errors.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, StoreSet } from '../../src/storage/contracts.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';

const gate = await backendTest('postgres');

describe('buffered writes on PostgreSQL', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_buf');
  let set: StoreSet | undefined;
  after(async () => {
    await set?.close();
    await dropPostgresSchema(schema, gate.url);
  });

  it('refuses a batch with NUL before the 202 and stores every good batch', async () => {
    set = await createPostgresStores({ url: gate.url, schema, maxConnections: 4 });
    const clock = new ManualClock();
    const engine = createTimeSeriesService({ clock, catalog: new StoreCatalog('postgres', [['postgres', set]]) });
    const view = createEmbeddedStoreResolver('postgres', { stores: ['postgres'] });
    const doc = { persistence_configuration: [{ id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { tag: 'KEYWORD' } } } }] };
    const config = parseTimeSeriesNamespace('bufns', doc, view).config;
    assert.equal(config.primary.storage.store, 'postgres');
    const now = clock.nowMicros();
    const ev = (series: string, id: string, tag = 't'): EventRecord => ({
      timeSeriesId: series,
      eventTimeMicros: now - 1,
      eventId: id,
      items: [{ key: 'tag', value: new TextEncoder().encode(tag) }],
    });
    const accepted: string[] = [];
    for (let b = 0; b < 50; b++) {
      const batch = Array.from({ length: 10 }, (_, i) => ev('s', `b${b}-${i}`));
      await engine.writeBuffered(config, batch);
      accepted.push(...batch.map((e) => e.eventId));
      if (b === 25) {
        await assert.rejects(engine.writeBuffered(config, [ev('s', 'x1'), ev('bad\u0000series', 'x2')]), (err: unknown) => {
          assert.ok(isDgwError(err) && err.code === 'INVALID_ARGUMENT', String(err));
          assert.match(err.message, /^events\[1\]\.timeSeriesId: must not contain a NUL/);
          return true;
        });
        await assert.rejects(engine.writeBuffered(config, [ev('s', 'x3', 'nul\u0000tag')]), /eventItemValue: indexed KEYWORD field "tag" must not contain a NUL/);
      }
    }
    await engine.flushBuffers();
    const page = await engine.read(config, {
      timeSeriesId: 's',
      startMicros: 0,
      endMicros: now + 1,
      eventFilters: [],
      pageSize: 1000,
      totalRecordLimit: 0,
      allowPartial: false,
    });
    assert.deepEqual(page.events.map((e) => e.eventId).sort(), accepted.sort());
    await engine.shutdown();
  });
});
