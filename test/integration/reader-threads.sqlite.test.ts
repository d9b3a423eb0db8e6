/**
 * The SQLite reader threads (docs/storage.md, "Reads in reader threads"): packed
 * time-bucket scans and packed searches of a file database run on reader threads with
 * their own read-only connections. What must hold: the same bytes as the inline path
 * (seeded data, multi-item events cut by the row limit, paging by cursor), a slice table
 * dropped behind the main thread's back answers as a table that is gone, a read issued
 * after an acknowledged write sees it (inline commits and the writer thread), and closing
 * the stores or the server ends the threads.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { emptyPacked, packedPosition, unpackEvents, type PackedEvents } from '../../src/domain/packed-events.js';
import { emptyJoinedJson, eventJson, eventJsonPosition, joinedEventText, joinEventJson } from '../../src/domain/event-json.js';
import type { EventWrite, IndexDoc, IndexSearch, JoinedEventJson, SliceInfo, StoreSet, TimeBucketScan } from '../../src/storage/contracts.js';
import { SqliteReaderPool } from '../../src/storage/sqlite/reader-pool.js';
import { sliceTableName, TIME_ORDERED_LAYOUT } from '../../src/storage/sqlite/schema.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';
import { startTestServer, uniqueNamespace } from '../support/http-server.js';
import { tempDir } from '../support/temp-dir.js';
import { seeded } from '../../src/storage/conformance/seeded.js';

const SEC = 1_000_000;
const T0 = Date.UTC(2024, 9, 3) * 1000;
const slice = (eventBuckets: number): SliceInfo => ({ sliceId: T0 / SEC, startMicros: T0, endMicros: T0 + 3600 * SEC, status: 'ACTIVE', secondsPerTimeBucket: 60, eventBuckets });

/** Seeded events in one slice of 4 event buckets: few times (ties by id), 1 to 12 items (cut events), some series. */
function seed(ns: string, sl: SliceInfo): { writes: EventWrite[]; docs: IndexDoc[] } {
  const rand = seeded(7);
  const pick = (n: number) => Math.floor(rand() * n);
  const writes: EventWrite[] = [];
  const docs: IndexDoc[] = [];
  for (let i = 0; i < 600; i++) {
    const series = ['a', 'b', 'ü"\\x'][pick(3)]!;
    const idNo = pick(400);
    const time = sl.startMicros + pick(2) * 60 * SEC + pick(40) * 1000;
    const items = Array.from({ length: 1 + pick(12) }, (_, k) => ({ key: `k${k}\u00e9`, value: Uint8Array.from({ length: pick(40) }, () => pick(256)) }));
    const event = { timeSeriesId: series, eventTimeMicros: time, eventId: `e${idNo}`, items };
    writes.push({ namespace: ns, sliceId: sl.sliceId, partition: { timeSeriesId: series, timeBucket: Math.floor((time - sl.startMicros) / (60 * SEC)), eventBucket: idNo % sl.eventBuckets }, event });
    docs.push({ namespace: ns, event, fields: [{ key: 'color', type: 'KEYWORD', value: ['red', 'blue'][pick(2)]! }, { key: 'note', type: 'TEXT', value: ['hot day', 'cold night', 'hot night'][pick(3)]! }] });
  }
  return { writes, docs };
}

/** The packed answers of a fixed list of scans and searches (pages walked by cursor). */
async function answers(stores: StoreSet, ns: string, sl: SliceInfo): Promise<(PackedEvents | JoinedEventJson)[]> {
  const out: (PackedEvents | JoinedEventJson)[] = [];
  const events = stores.events!;
  const index = stores.index!;
  for (const series of ['a', 'b', 'ü"\\x', 'none']) {
    for (const timeBucket of [0, 1]) {
      const start = sl.startMicros + timeBucket * 60 * SEC;
      for (const limit of [1, 3, 7, 100, 1000]) {
        const base: TimeBucketScan = { namespace: ns, sliceId: sl.sliceId, timeSeriesId: series, timeBucket, eventBuckets: sl.eventBuckets, fromMicros: start, toMicros: start + 60 * SEC, limit };
        let after: TimeBucketScan['after'];
        for (let page = 0; page < 200; page++) {
          const got = await events.scanTimeBucketPacked!({ ...base, ...(after ? { after } : {}) });
          out.push(got);
          out.push(await events.scanTimeBucketJson!({ ...base, ...(after ? { after } : {}) }));
          if (got.times.length < limit) break;
          after = packedPosition(got, got.times.length - 1);
        }
        out.push(await events.scanTimeBucketPacked!({ ...base, fromMicros: start + 10_000, toMicros: start + 25_000 }));
        out.push(await events.scanTimeBucketJson!({ ...base, fromMicros: start + 10_000, toMicros: start + 25_000 }));
      }
    }
  }
  const queries: IndexSearch['query'][] = [{ equals: { key: 'color', value: 'red' } }, { equals: { key: 'note', value: 'hot' } }, { and: [{ equals: { key: 'note', value: 'night' } }, { equals: { key: 'color', value: 'blue' } }] }, { range: { key: 'color', lower: { value: 'c', inclusive: true } } }];
  for (const query of queries) {
    for (const limit of [1, 9, 100]) {
      let after: IndexSearch['after'];
      for (let page = 0; page < 200; page++) {
        const got = await index.searchJson!({ namespace: ns, query, fromMicros: sl.startMicros, toMicros: sl.endMicros, limit, ...(after ? { after } : {}) });
        out.push(got);
        if (got.ends.length < limit) break;
        after = eventJsonPosition(joinedEventText(got, got.ends.length - 1));
      }
    }
  }
  return out;
}

describe('sqlite reader threads', () => {
  it('answer the same bytes as the inline scans and searches (seeded data, cut events, paging)', async () => {
    const dataDir = tempDir();
    const ns = 'ns';
    const sl = slice(4);
    const setup = createSqliteStores({ dataDir });
    await setup.events!.createSlice(ns, sl);
    const { writes, docs } = seed(ns, sl);
    await setup.events!.appendEvents(writes, { indexDocs: docs });
    await setup.close();

    const inlineStores = createSqliteStores({ dataDir });
    const inline = await answers(inlineStores, ns, sl);
    await inlineStores.close();
    const threadedStores = createSqliteStores({ dataDir, readerThreads: 2 });
    const threaded = await answers(threadedStores, ns, sl);
    await threadedStores.close();
    assert.ok(inline.length > 300, `${inline.length} answers`);
    assert.ok(inline.some((a) => 'times' in a && a.times.length >= 50) && inline.some((a) => 'ends' in a && a.ends.length >= 50), 'some pages are full');
    assert.equal(JSON.stringify(threaded), JSON.stringify(inline));
  });

  it('JSON scans equal the events of the packed and the record scans (unusual code points, astral ids, multi-item and cut events, paging)', async () => {
    const dataDir = tempDir();
    const ns = 'ns';
    const sl = slice(4);
    const rand = seeded(11);
    const pick = (n: number) => Math.floor(rand() * n);
    const chars = ['a', 'Z', '"', '\\', '\n', '\u0001', '\u001e', '\u001f', '\u007f', 'é', '字', '\u2028', '\uE000', '\uFFFD', '\u{1F600}', '\u{10000}', ' ', ',"eventItems":['];
    const text = (max: number) => Array.from({ length: 1 + pick(max) }, () => chars[pick(chars.length)]!).join('');
    const series = ['a', 'ключ "q" \\ 😀\n'];
    const sizes = [0, 1, 2, 3, 48, 49, 200];
    const writes: EventWrite[] = [];
    for (let i = 0; i < 700; i++) {
      const timeSeriesId = series[pick(2)]!;
      const idNo = pick(300);
      const eventId = `${text(3)}${idNo}`;
      const time = sl.startMicros + pick(2) * 60 * SEC + pick(30) * 1000;
      const items = Array.from({ length: 1 + pick(pick(4) === 0 ? 15 : 2) }, () => ({ key: text(4), value: Uint8Array.from({ length: sizes[pick(sizes.length)]! }, () => pick(256)) }));
      const event = { timeSeriesId, eventTimeMicros: time, eventId, items };
      writes.push({ namespace: ns, sliceId: sl.sliceId, partition: { timeSeriesId, timeBucket: Math.floor((time - sl.startMicros) / (60 * SEC)), eventBucket: idNo % sl.eventBuckets }, event });
    }
    const setup = createSqliteStores({ dataDir });
    await setup.events!.createSlice(ns, sl);
    // Items of one event over several writes (first write of each item wins).
    for (let i = 0; i < writes.length; i += 100) await setup.events!.appendEvents(writes.slice(i, i + 100));
    await setup.close();
    const inline = createSqliteStores({ dataDir });
    const threaded = createSqliteStores({ dataDir, readerThreads: 1 });
    try {
      let pages = 0;
      let multi = 0;
      for (const timeSeriesId of [...series, 'none']) {
        for (const timeBucket of [0, 1]) {
          const start = sl.startMicros + timeBucket * 60 * SEC;
          for (const limit of [1, 2, 5, 100, 1000]) {
            const base: TimeBucketScan = { namespace: ns, sliceId: sl.sliceId, timeSeriesId, timeBucket, eventBuckets: sl.eventBuckets, fromMicros: start, toMicros: start + 60 * SEC, limit };
            let after: TimeBucketScan['after'];
            for (let page = 0; page < 1000; page++) {
              const scan = { ...base, ...(after ? { after } : {}) };
              const joined = await threaded.events!.scanTimeBucketJson!(scan);
              assert.deepEqual(await inline.events!.scanTimeBucketJson!(scan), joined, 'inline and threaded');
              const json = joined.ends.map((_, i) => joinedEventText(joined, i));
              assert.deepEqual(joinEventJson(json), joined, 'joined and split');
              assert.deepEqual(unpackEvents(await inline.events!.scanTimeBucketPacked!(scan), timeSeriesId).map(eventJson), json, 'from the packed rows');
              assert.deepEqual((await inline.events!.scanTimeBucket!(scan)).map(eventJson), json, 'from the records');
              pages++;
              multi += json.filter((t) => t.includes('},{"eventItemKey"')).length;
              if (json.length < limit) break;
              const last = eventJsonPosition(json[json.length - 1]!);
              after = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
            }
          }
        }
      }
      assert.ok(pages > 500 && multi > 100, `${pages} pages, ${multi} multi-item events`);
    } finally {
      await inline.close();
      await threaded.close();
    }
  });

  it('answers a scan of a slice table dropped behind the main thread as a table that is gone: no events', async () => {
    const dataDir = tempDir();
    const sl = slice(2);
    const stores = createSqliteStores({ dataDir, readerThreads: 1 });
    try {
      await stores.events!.createSlice('ns', sl);
      const { writes } = seed('ns', sl);
      await stores.events!.appendEvents(writes);
      const scan: TimeBucketScan = { namespace: 'ns', sliceId: sl.sliceId, timeSeriesId: 'a', timeBucket: 0, eventBuckets: 2, fromMicros: T0, toMicros: T0 + 60 * SEC, limit: 10 };
      // The thread prepares its statement on the table, then the table goes while the
      // main thread still holds the slice as live (a drop racing the scan).
      assert.equal((await stores.events!.scanTimeBucketPacked!(scan)).times.length, 10);
      assert.equal((await stores.events!.scanTimeBucketJson!(scan)).ends.length, 10);
      const other = new Database(join(dataDir, 'dgw.sqlite'));
      other.exec(`DROP TABLE "${sliceTableName(1, sl.sliceId)}"`);
      other.close();
      assert.deepEqual(await stores.events!.scanTimeBucketPacked!(scan), emptyPacked());
      assert.deepEqual(await stores.events!.scanTimeBucketPacked!({ ...scan, limit: 1 }), emptyPacked(), 'a statement prepared afresh too');
      assert.deepEqual(await stores.events!.scanTimeBucketJson!(scan), emptyJoinedJson(), 'the JSON scan too');
      // What the inline scan answers once the slice is known DROPPED: the same.
      await stores.events!.setSliceStatus('ns', sl.sliceId, 'DROPPED');
      const inline = createSqliteStores({ dataDir });
      try {
        assert.deepEqual(await inline.events!.scanTimeBucketPacked!(scan), emptyPacked());
      } finally {
        await inline.close();
      }
    } finally {
      await stores.close();
    }
  });

  for (const writerThread of [false, true]) {
    it(`see every acknowledged write at once (${writerThread ? 'writer thread' : 'inline commits'})`, async () => {
      const sl = slice(4);
      const stores = createSqliteStores({ dataDir: tempDir(), readerThreads: 2, writerThread });
      try {
        await stores.events!.createSlice('ns', sl);
        const base: TimeBucketScan = { namespace: 'ns', sliceId: sl.sliceId, timeSeriesId: 'a', timeBucket: 0, eventBuckets: 4, fromMicros: T0, toMicros: T0 + 60 * SEC, limit: 1 };
        // Reads keep both threads busy meanwhile, so each check may land on either one.
        let stop = false;
        const background = (async () => {
          while (!stop) await stores.events!.scanTimeBucketPacked!({ ...base, limit: 50 });
        })();
        for (let i = 0; i < 300; i++) {
          const event = { timeSeriesId: 'a', eventTimeMicros: T0 + i, eventId: `e${i}`, items: [{ key: 'k', value: new Uint8Array([i & 255]) }] };
          const doc: IndexDoc = { namespace: 'ns', event, fields: [{ key: 'n', type: 'KEYWORD', value: `v${i}` }] };
          await stores.events!.appendEvents([{ namespace: 'ns', sliceId: sl.sliceId, partition: { timeSeriesId: 'a', timeBucket: 0, eventBucket: i % 4 }, event }], { indexDocs: [doc] });
          const [newest, found] = await Promise.all([
            stores.events!.scanTimeBucketPacked!(base),
            stores.index!.searchJson!({ namespace: 'ns', query: { equals: { key: 'n', value: `v${i}` } }, fromMicros: T0, toMicros: T0 + 60 * SEC, limit: 5 }),
          ]);
          assert.deepEqual(newest.ids, [JSON.stringify(`e${i}`)], `read after write ${i}`);
          assert.deepEqual(found.ends.map((_, k) => eventJsonPosition(joinedEventText(found, k)).eventId), [`e${i}`], `search after write ${i}`);
        }
        stop = true;
        await background;
      } finally {
        await stores.close();
      }
    });
  }

  it('ends its threads on close, lets pending reads finish first, and refuses reads after', async () => {
    const dataDir = tempDir();
    const sl = slice(4);
    const setup = createSqliteStores({ dataDir });
    await setup.events!.createSlice('ns', sl);
    await setup.events!.appendEvents(seed('ns', sl).writes);
    await setup.close();
    const pool = new SqliteReaderPool(join(dataDir, 'dgw.sqlite'), 3);
    const scan: TimeBucketScan = { namespace: 'ns', sliceId: sl.sliceId, timeSeriesId: 'a', timeBucket: 0, eventBuckets: 4, fromMicros: T0, toMicros: T0 + 60 * SEC, limit: 20 };
    const table = { name: sliceTableName(1, sl.sliceId), layout: TIME_ORDERED_LAYOUT } as const;
    const pending = Array.from({ length: 9 }, () => pool.scan(table, scan));
    assert.equal(pool.running, 3, 'least busy: every thread took a share');
    const closed = pool.close();
    for (const p of await Promise.all(pending)) assert.equal(p?.times.length, 20);
    await closed;
    assert.equal(pool.running, 0);
    await assert.rejects(pool.scan(table, scan), /not open/);
  });

  it('a server with reader threads answers reads after acknowledged writes and stops without hanging', async () => {
    const t = await startTestServer({ sqliteReaderThreads: 2, sqliteWriterThread: true });
    let stopped = false;
    try {
      const ns = uniqueNamespace('rt');
      assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {})).status, 201);
      for (let i = 0; i < 20; i++) {
        const eventTime = new Date(Date.parse('2024-10-03T21:24:58Z') + i * 10).toISOString();
        const w = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [{ timeSeriesId: 'p', eventTime, eventId: `e${i}`, eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }] }] });
        assert.equal(w.status, 200, JSON.stringify(w.json));
        const r = await t.post('/v1/timeseries/ReadEventRecords', { namespace: ns, timeSeriesId: 'p', timeInterval: { start: '2024-10-03T21:00:00Z', end: '2024-10-03T21:25:00Z' }, pageSize: 1 });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal((r.json.events as { eventId: string }[] | undefined)?.[0]?.eventId, `e${i}`, JSON.stringify(r.json));
      }
    } finally {
      const timer = setTimeout(() => assert.fail('server close hangs'), 10_000);
      await t.stop();
      clearTimeout(timer);
      stopped = true;
    }
    assert.ok(stopped);
  });
});
