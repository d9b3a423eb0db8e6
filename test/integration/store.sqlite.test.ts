import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isDgwError } from '../../src/kernel/errors.js';
import { createSqliteStores, SCHEMA_VERSION } from '../../src/storage/sqlite/stores.js';
import { BUCKETED_LAYOUT, TIME_ORDERED_LAYOUT } from '../../src/storage/sqlite/schema.js';
import { tempDir } from '../support/temp-dir.js';

const T0 = Date.UTC(2024, 9, 3) * 1000;
const slice = { sliceId: T0 / 1e6, startMicros: T0, endMicros: T0 + 3600e6, status: 'ACTIVE' as const, secondsPerTimeBucket: 60, eventBuckets: 2 };
const partition = { timeSeriesId: 'dev1', timeBucket: 0, eventBucket: 1 };

describe('sqlite store', () => {
  it('keeps events, slices, index, rollups and namespaces across close and reopen', async () => {
    const dataDir = tempDir();
    const first = createSqliteStores({ dataDir });
    assert.equal(first.capabilities.durable, true);
    await first.events!.createSlice('ns', slice);
    await first.events!.appendEvents([
      { namespace: 'ns', sliceId: slice.sliceId, partition, event: { timeSeriesId: 'dev1', eventTimeMicros: T0 + 5, eventId: 'e1', items: [{ key: 'k', value: new Uint8Array([1, 2, 3]) }] } },
    ]);
    await first.index!.indexEvents([
      { namespace: 'ns', event: { timeSeriesId: 'dev1', eventTimeMicros: T0 + 5, eventId: 'e1', items: [{ key: 'k', value: new Uint8Array([9]) }] }, fields: [{ key: 'k', type: 'KEYWORD', value: 'x' }] },
    ]);
    await first.rollups!.advance('cns', 'c', { count: 2n ** 62n, rollupTsMicros: 42 });
    await first.namespaces!.put('counter', 'cns', { a: 1 }, 7);
    await first.close();
    assert.ok(existsSync(join(dataDir, 'dgw.sqlite')));

    const second = createSqliteStores({ dataDir });
    assert.deepEqual(await second.events!.listSlices('ns'), [slice]);
    const events = await second.events!.scanPartition({ namespace: 'ns', sliceId: slice.sliceId, partition, fromMicros: T0, toMicros: T0 + 10, limit: 10 });
    assert.deepEqual(events.map((e) => [e.eventId, [...e.items[0]!.value]]), [['e1', [1, 2, 3]]]);
    const found = await second.index!.search({ namespace: 'ns', query: { equals: { key: 'k', value: 'x' } }, fromMicros: T0, toMicros: T0 + 10, limit: 5 });
    assert.deepEqual(found.map((e) => [e.eventId, [...e.items[0]!.value]]), [['e1', [9]]]);
    assert.deepEqual(await second.rollups!.get('cns', 'c'), { lastRollupCount: 2n ** 62n, lastRollupTsMicros: 42, lastWriteTsMicros: 0, firstWriteTsMicros: 0 });
    assert.equal((await second.namespaces!.get('counter', 'cns'))?.version, 1);
    await second.events!.setSliceStatus('ns', slice.sliceId, 'DROPPED');
    await second.close();

    const third = createSqliteStores({ dataDir });
    assert.equal((await third.events!.listSlices('ns'))[0]?.status, 'DROPPED');
    const db = new Database(join(dataDir, 'dgw.sqlite'), { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ev_%'").all();
    db.close();
    assert.deepEqual(tables, []);
    await third.close();
  });

  it('opens a database from before schema 7: its bucketed slice tables keep their key and events, new slices are time-ordered', async () => {
    const dataDir = tempDir();
    const file = join(dataDir, 'dgw.sqlite');
    // What schema 6 left: slice tables keyed by event bucket, no slices.layout column.
    const old = createSqliteStores({ dataDir, sliceLayout: BUCKETED_LAYOUT });
    await old.events!.createSlice('ns', slice);
    const write = (sliceId: number, id: string, time: number) => ({
      namespace: 'ns',
      sliceId,
      partition: { ...partition, timeBucket: Math.floor((time - T0) / 60e6) % 60 },
      event: { timeSeriesId: 'dev1', eventTimeMicros: time, eventId: id, items: [{ key: 'k', value: new Uint8Array([id.length]) }] },
    });
    await old.events!.appendEvents([write(slice.sliceId, 'e1', T0 + 5), write(slice.sliceId, 'e2', T0 + 7)]);
    await old.close();
    const raw = new Database(file);
    raw.exec('ALTER TABLE slices DROP COLUMN layout; UPDATE schema_version SET version = 6');
    raw.close();

    const stores = createSqliteStores({ dataDir });
    const next = { ...slice, sliceId: slice.sliceId + 3600, startMicros: slice.endMicros, endMicros: slice.endMicros + 3600e6 };
    await stores.events!.createSlice('ns', next);
    // The old table takes writes and answers both scans; so does the new one.
    await stores.events!.appendEvents([write(slice.sliceId, 'e3', T0 + 6), write(next.sliceId, 'e4', next.startMicros + 1)]);
    const scan = (sl: typeof slice) => ({ namespace: 'ns', sliceId: sl.sliceId, timeSeriesId: 'dev1', timeBucket: 0, eventBuckets: sl.eventBuckets, fromMicros: sl.startMicros, toMicros: sl.endMicros, limit: 10 });
    assert.deepEqual((await stores.events!.scanTimeBucket!(scan(slice))).map((e) => e.eventId), ['e2', 'e3', 'e1']);
    assert.deepEqual((await stores.events!.scanTimeBucketPacked!(scan(slice))).ids, ['"e2"', '"e3"', '"e1"']);
    assert.deepEqual((await stores.events!.scanTimeBucket!(scan(next))).map((e) => e.eventId), ['e4']);
    assert.deepEqual((await stores.events!.scanPartition({ namespace: 'ns', sliceId: next.sliceId, partition, fromMicros: next.startMicros, toMicros: next.endMicros, limit: 10 })).map((e) => e.eventId), ['e4']);
    assert.deepEqual(await stores.events!.scanPartition({ namespace: 'ns', sliceId: next.sliceId, partition: { ...partition, eventBucket: 0 }, fromMicros: next.startMicros, toMicros: next.endMicros, limit: 10 }), []);
    await stores.close();

    const db = new Database(file, { readonly: true });
    const layouts = db.prepare('SELECT slice_id, layout FROM slices ORDER BY slice_id').raw(true).all();
    const ddl = (sliceId: number) => (db.prepare("SELECT sql FROM sqlite_master WHERE name LIKE ?").pluck().get(`ev_%_${sliceId}`) as string).replace(/\s+/g, ' ');
    assert.deepEqual(layouts, [[slice.sliceId, BUCKETED_LAYOUT], [next.sliceId, TIME_ORDERED_LAYOUT]]);
    assert.match(ddl(slice.sliceId), /PRIMARY KEY \(time_series_id, time_bucket, event_bucket, event_time DESC/);
    assert.match(ddl(next.sliceId), /PRIMARY KEY \(time_series_id, time_bucket, event_time DESC/);
    db.close();
  });

  it('uses WAL with synchronous FULL', async () => {
    const dataDir = tempDir();
    const stores = createSqliteStores({ dataDir });
    await stores.close();
    const db = new Database(join(dataDir, 'dgw.sqlite'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('fails fast with FAILED_PRECONDITION on a newer schema version', async () => {
    const dataDir = tempDir();
    await createSqliteStores({ dataDir }).close();
    const db = new Database(join(dataDir, 'dgw.sqlite'));
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    assert.throws(
      () => createSqliteStores({ dataDir }),
      (err: unknown) => isDgwError(err) && err.code === 'FAILED_PRECONDITION' && /schema version/.test(err.message),
    );
  });

  it('maps an unopenable file to UNAVAILABLE', () => {
    const dataDir = tempDir();
    assert.throws(
      () => createSqliteStores({ dataDir, filename: 'missing-dir/x.sqlite' }),
      (err: unknown) => isDgwError(err) && err.code === 'UNAVAILABLE',
    );
  });
});
