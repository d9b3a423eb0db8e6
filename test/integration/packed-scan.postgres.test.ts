/**
 * The PostgreSQL store's packed reads (issue 9, storage/postgres/merged-scan.ts and
 * index-store.ts `searchPacked`): on seeded events with tricky ids, keys and series (quotes,
 * backslashes, control characters, the packed separators U+001E/U+001F, DEL, U+2028, astral
 * characters) and values of every size class, the packed answers must be exactly
 * `packEvents` / `packSeriesEvents` of the generic ones, page by page, and the JSON text
 * written from them exactly `JSON.stringify(encodePage(page))`. Also records that
 * PostgreSQL's `to_json(text)::text` writes what `JSON.stringify` writes for every code point
 * (the scan quotes in JS instead, which costs the database less; merged-scan.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { EventRecord } from '../../src/domain/events.js';
import { packEvents, packSeriesEvents } from '../../src/domain/packed-events.js';
import { encodePackedPageJson, encodePackedSearchPageJson, encodePage } from '../../src/server/wire/timeseries-wire.js';
import type { EventWrite, SearchPosition, SliceInfo, StoreSet, TimeBucketScan } from '../../src/storage/contracts.js';
import { createPostgresStores } from '../../src/storage/postgres/stores.js';
import { BUCKETED_LAYOUT } from '../../src/storage/postgres/schema.js';
import { prng } from '../support/dgw-load.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';

const gate = await backendTest('postgres');

const SEC = 1_000_000;
const T0 = 1_727_913_600 * SEC;
const CHARS = ['a', 'Z', '0', '_', '-', '"', '\\', '/', '\n', '\t', '\b', '\f', '\r', '\u0001', '\u001e', '\u001f', '\u007f', 'é', 'ß', '字', '\u2028', '\u2029', '😀', '\ufffd', ' '];
const SIZES = [0, 1, 2, 3, 4, 47, 64, 65, 100, 3000];

describe('postgres packed reads', { skip: gate.skip }, () => {
  const schema = uniqueName('dgw_packed');
  let stores: StoreSet | undefined;
  let bucketed: StoreSet | undefined;
  const open = async (): Promise<StoreSet> => (stores ??= await createPostgresStores({ url: gate.url, schema, maxConnections: 4 }));
  /** The same schema, creating slice tables keyed by event bucket, as before schema 5. */
  const openBucketed = async (): Promise<StoreSet> =>
    (bucketed ??= await createPostgresStores({ url: gate.url, schema, maxConnections: 4, sliceLayout: BUCKETED_LAYOUT }));
  after(async () => {
    await stores?.close();
    await bucketed?.close();
    await dropPostgresSchema(schema, gate.url);
  });

  /** Seeded events of a few series in one time bucket of `slice`, with their writes. */
  function seeded(seed: number, namespace: string, slice: SliceInfo, count: number): { events: EventRecord[]; writes: EventWrite[] } {
    const rand = prng(seed);
    const pick = (n: number) => Math.floor(rand() * n);
    const text = (max: number) => Array.from({ length: 1 + pick(max) }, () => CHARS[pick(rand() < 0.5 ? 5 : CHARS.length)]!).join('');
    const series = ['s0', 'ключ "x" \\ \n 😀', '\u001f\u001e'];
    const events: EventRecord[] = [];
    const writes: EventWrite[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const timeSeriesId = series[pick(series.length)]!;
      // Few distinct times: ties broken by eventId, across event buckets too.
      const eventTimeMicros = slice.startMicros + pick(40) * 1000;
      const eventId = text(8);
      if (seen.has(`${timeSeriesId}\u0000${eventTimeMicros}\u0000${eventId}`)) continue;
      seen.add(`${timeSeriesId}\u0000${eventTimeMicros}\u0000${eventId}`);
      const keys = new Set<string>();
      for (let k = 1 + pick(3); k > 0; k--) keys.add(text(5));
      const items = [...keys].sort().map((key) => ({ key, value: new Uint8Array(Array.from({ length: SIZES[pick(SIZES.length)]! }, () => pick(256))) }));
      const event = { timeSeriesId, eventTimeMicros, eventId, items };
      events.push(event);
      writes.push({ namespace, sliceId: slice.sliceId, partition: { timeSeriesId, timeBucket: 0, eventBucket: pick(slice.eventBuckets) }, event });
    }
    return { events, writes };
  }

  it('scanTimeBucketPacked is exactly packEvents(scanTimeBucket), every page of every series, on both slice keys', async () => {
    const layouts = [
      { name: 'time-ordered', events: (await open()).events! },
      { name: 'bucketed', events: (await openBucketed()).events! },
    ];
    for (const eventBuckets of [1, 4, 70]) {
      // The same events in a table of each key: the one-range read and the merge page alike.
      const pagesOf = new Map<string, EventRecord[][]>();
      for (const { name, events } of layouts) {
        const namespace = uniqueName('ns');
        const slice: SliceInfo = { sliceId: 1_727_913_600, startMicros: T0, endMicros: T0 + 3600 * SEC, status: 'ACTIVE', secondsPerTimeBucket: 3600, eventBuckets };
        await events.createSlice(namespace, slice);
        const { writes } = seeded(eventBuckets, namespace, slice, 300);
        await events.appendEvents(writes);
        const all: EventRecord[][] = [];
        pagesOf.set(name, all);
        for (const timeSeriesId of ['s0', 'ключ "x" \\ \n 😀', '\u001f\u001e', 'none']) {
          for (const limit of [1, 7, 101]) {
            const base: TimeBucketScan = { namespace, sliceId: slice.sliceId, timeSeriesId, timeBucket: 0, eventBuckets, fromMicros: T0, toMicros: T0 + 3600 * SEC, limit };
            let position: TimeBucketScan['after'];
            let pages = 0;
            for (;;) {
              const scan = { ...base, ...(position ? { after: position } : {}) };
              const records = await events.scanTimeBucket!(scan);
              const packed = await events.scanTimeBucketPacked!(scan);
              all.push(records);
              const what = `${name}, ${eventBuckets} buckets, ${JSON.stringify(timeSeriesId)}, limit ${limit}, page ${pages}`;
              assert.deepEqual(packed, packEvents(records), what);
              assert.equal(encodePackedPageJson({ events: packed, partial: false }, timeSeriesId), JSON.stringify(encodePage({ events: records, partial: false })), what);
              const last = records[records.length - 1];
              if (!last || records.length < limit) break;
              position = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
              pages++;
            }
            if (timeSeriesId !== 'none' && limit === 7) assert.ok(pages > 3, 'several pages');
          }
        }
      }
      assert.deepEqual(pagesOf.get('time-ordered'), pagesOf.get('bucketed'), `${eventBuckets} buckets: the same pages on both keys`);
    }
    // A missing namespace, a missing slice, a dropped slice: nothing, as the generic scan.
    for (const { events } of layouts) {
      const namespace = uniqueName('ns');
      const slice: SliceInfo = { sliceId: 1_727_913_600, startMicros: T0, endMicros: T0 + 3600 * SEC, status: 'ACTIVE', secondsPerTimeBucket: 3600, eventBuckets: 4 };
      await events.createSlice(namespace, slice);
      await events.appendEvents(seeded(1, namespace, slice, 5).writes);
      const scan: TimeBucketScan = { namespace, sliceId: slice.sliceId, timeSeriesId: 's0', timeBucket: 0, eventBuckets: 4, fromMicros: T0, toMicros: T0 + 3600 * SEC, limit: 10 };
      await events.setSliceStatus(namespace, slice.sliceId, 'DROPPED');
      for (const missing of [{ ...scan, namespace: uniqueName('ns') }, { ...scan, sliceId: 1 }, scan]) {
        assert.deepEqual(await events.scanTimeBucketPacked!(missing), packEvents([]));
        assert.deepEqual(await events.scanTimeBucket!(missing), []);
      }
    }
  });

  it('pages events with more items than the row limit alike on both slice keys', async () => {
    // The time-ordered read walks rows with a LIMIT of limit + 1 and reads a cut event again.
    const events: EventRecord[] = Array.from({ length: 12 }, (_, i) => ({
      timeSeriesId: 's',
      eventTimeMicros: T0 + (i % 4) * SEC, // ties on time, broken by id
      eventId: `e${String(i).padStart(2, '0')}`,
      items: Array.from({ length: i === 5 ? 40 : 1 + ((i * 7) % 5) }, (_, k) => ({ key: `k${String(k).padStart(2, '0')}`, value: new Uint8Array([i, k]) })),
    }));
    const expected = [...events].sort((a, b) => b.eventTimeMicros - a.eventTimeMicros || (a.eventId < b.eventId ? -1 : 1));
    for (const set of [await open(), await openBucketed()]) {
      const namespace = uniqueName('ns');
      const slice: SliceInfo = { sliceId: 1_727_913_600, startMicros: T0, endMicros: T0 + 3600 * SEC, status: 'ACTIVE', secondsPerTimeBucket: 3600, eventBuckets: 3 };
      await set.events!.createSlice(namespace, slice);
      await set.events!.appendEvents(events.map((event, i) => ({ namespace, sliceId: slice.sliceId, partition: { timeSeriesId: 's', timeBucket: 0, eventBucket: i % 3 }, event })));
      for (const limit of [1, 2, 3, 5, 12, 13]) {
        const read: EventRecord[] = [];
        let position: TimeBucketScan['after'];
        for (;;) {
          const scan: TimeBucketScan = { namespace, sliceId: slice.sliceId, timeSeriesId: 's', timeBucket: 0, eventBuckets: 3, fromMicros: T0, toMicros: T0 + 3600 * SEC, limit, ...(position ? { after: position } : {}) };
          const page = await set.events!.scanTimeBucket!(scan);
          assert.deepEqual(await set.events!.scanTimeBucketPacked!(scan), packEvents(page));
          assert.ok(page.length <= limit);
          read.push(...page);
          const last = page[page.length - 1];
          if (!last || page.length < limit) break;
          position = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
        }
        assert.deepEqual(read, expected, `limit ${limit}`);
      }
    }
  });

  it('searchPacked is exactly packSeriesEvents(search), every page', async () => {
    const set = await open();
    const index = set.index!;
    const namespace = uniqueName('ns');
    const slice: SliceInfo = { sliceId: 1_727_913_600, startMicros: T0, endMicros: T0 + 3600 * SEC, status: 'ACTIVE', secondsPerTimeBucket: 3600, eventBuckets: 4 };
    const { events } = seeded(99, namespace, slice, 200);
    await index.indexEvents(events.map((event, i) => ({ namespace, event, fields: [{ key: 'k', type: 'KEYWORD' as const, value: i % 3 === 0 ? 'x' : 'y' }] })));
    for (const query of [{ all: true } as const, { equals: { key: 'k', value: 'x' } }]) {
      for (const limit of [1, 9, 100]) {
        let position: SearchPosition | undefined;
        let seen = 0;
        for (;;) {
          const q = { namespace, query, fromMicros: T0, toMicros: T0 + 3600 * SEC, limit, ...(position ? { after: position } : {}) };
          const records = await index.search(q);
          const packed = await index.searchPacked!(q);
          assert.deepEqual(packed, packSeriesEvents(records), `${JSON.stringify(query)}, limit ${limit}, after ${seen}`);
          assert.equal(encodePackedSearchPageJson({ events: packed, partial: false }), JSON.stringify(encodePage({ events: records, partial: false })));
          seen += records.length;
          const last = records[records.length - 1];
          if (!last || records.length < limit) break;
          position = { eventTimeMicros: last.eventTimeMicros, timeSeriesId: last.timeSeriesId, eventId: last.eventId };
        }
        assert.equal(seen, 'all' in query ? events.length : events.filter((_, i) => i % 3 === 0).length);
      }
    }
  });

  it("to_json(text)::text writes what JSON.stringify writes, every code point to U+FFFF and astral ones", async () => {
    const client = new pg.Client({ connectionString: gate.url });
    await client.connect();
    try {
      const texts: string[] = [''];
      for (let c = 1; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) texts.push(`${String.fromCharCode(c)}a${String.fromCharCode(c)}`);
      texts.push('😀', '\u{10000}', '\u{10ffff}', 'a"b\\c/d\u2028\u2029\u007f\b\f\n\r\t');
      const { rows } = await client.query<[string]>({
        text: 'SELECT to_json(t)::text FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i',
        values: [texts],
        rowMode: 'array',
      });
      assert.equal(rows.length, texts.length);
      rows.forEach(([quoted], i) => assert.equal(quoted, JSON.stringify(texts[i]), `code point ${texts[i]!.codePointAt(0)?.toString(16)}`));
    } finally {
      await client.end();
    }
  });
});
