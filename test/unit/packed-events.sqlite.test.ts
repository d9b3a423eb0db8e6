/**
 * Packed events and the JSON text written from them (issue 9, domain/packed-events.ts,
 * `encodePackedPageJson` in server/wire/timeseries-wire.ts): on seeded pages (unicode,
 * quotes, backslashes and control characters in series ids, event ids and keys; empty,
 * short, threshold-sized and long values; multi-item events; token and partial flags) the
 * text must be exactly `JSON.stringify(encodePage(page))`, and SQLite's `json_quote`, which
 * the SQLite store uses for ids and keys, must write exactly what `JSON.stringify` writes.
 * A search page is its events' `eventJson` texts joined (domain/event-json.ts): the same
 * checks, and the cursor read back from a text is the event's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { emptyPacked, packEvents, packedPosition, truncatePacked, appendPacked, unpackEvents } from '../../src/domain/packed-events.js';
import { appendJoinedJson, eventJson, eventJsonPosition, joinedEventText, joinEventJson, truncateJoinedJson } from '../../src/domain/event-json.js';
import type { EventRecord } from '../../src/domain/events.js';
import { encodePackedPageJson, encodePackedSearchPageJson, encodePage } from '../../src/server/wire/timeseries-wire.js';
import { prng } from '../support/dgw-load.js';
import type { EventStore, IndexSearch, IndexStore, TimeBucketScan } from '../../src/storage/contracts.js';
import { errorTranslator } from '../../src/storage/native-errors.js';
import { wrapStoreSet } from '../../src/storage/store-wrapper.js';

const CHARS = ['a', 'Z', '0', '_', '-', '"', '\\', '/', '\n', '\t', '\u0001', '\u001e', '\u001f', '\u007f', 'é', 'ß', '字', '\u2028', '😀', '\ufffd', ' '];

function seededEvents(seed: number, count: number, timeSeriesId: string): EventRecord[] {
  const rand = prng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const text = (max: number) => Array.from({ length: 1 + pick(max) }, () => CHARS[pick(rand() < 0.6 ? 5 : CHARS.length)]!).join('');
  const sizes = [0, 1, 2, 3, 4, 5, 47, 48, 49, 50, 63, 64, 65, 100, 3000];
  const events: EventRecord[] = [];
  let time = 1_780_000_000_000_000;
  for (let i = 0; i < count; i++) {
    time -= pick(3) === 0 ? 0 : 1 + pick(2_000_000);
    const keys = new Set<string>();
    for (let k = 1 + pick(4); k > 0; k--) keys.add(text(6));
    events.push({
      timeSeriesId,
      eventTimeMicros: time,
      eventId: text(10),
      items: [...keys].sort().map((key) => ({ key, value: new Uint8Array(Array.from({ length: sizes[pick(sizes.length)]! }, () => pick(256))) })),
    });
  }
  return events;
}

describe('packed events', () => {
  it('encodePackedPageJson writes exactly JSON.stringify(encodePage(page)), seeded pages', () => {
    for (const [seed, series] of [[1, 's0'], [2, 'ключ "x" \\ \n 😀'], [3, '\u0001'], [4, '']] as const) {
      for (const count of [0, 1, 2, 7, 100]) {
        const events = seededEvents(seed * 100 + count, count, series);
        for (const [nextPageToken, partial] of [[undefined, false], ['eyJx.AAAA-_', false], [undefined, true], ['t', true]] as const) {
          const page = { events, partial, ...(nextPageToken ? { nextPageToken } : {}) };
          const expected = JSON.stringify(encodePage(page));
          const packed = { events: packEvents(events), partial, ...(nextPageToken ? { nextPageToken } : {}) };
          assert.equal(encodePackedPageJson(packed, series), expected, `seed ${seed}, ${count} events`);
        }
      }
    }
  });

  it('encodePackedSearchPageJson of the events\' eventJson texts writes exactly JSON.stringify(encodePage(page)), events of several series', () => {
    const seriesNames = ['s0', 'ключ "x" \\ \n 😀', '\u0001', '', '\ud800 lone', '\u0000'];
    for (const count of [0, 1, 2, 7, 100]) {
      const events = seededEvents(500 + count, count, 'x').map((e, i) => ({ ...e, timeSeriesId: seriesNames[i % seriesNames.length]! }));
      for (const nextPageToken of [undefined, 'eyJx.AAAA-_']) {
        const page = { events, partial: false, ...(nextPageToken ? { nextPageToken } : {}) };
        const packed = { events: joinEventJson(events.map(eventJson)), partial: false, ...(nextPageToken ? { nextPageToken } : {}) };
        assert.equal(encodePackedSearchPageJson(packed), JSON.stringify(encodePage(page)), `${count} events`);
      }
      for (const e of events) {
        assert.equal(eventJson(e), JSON.stringify(encodePage({ events: [e], partial: false }).events[0]));
        assert.deepEqual(eventJsonPosition(eventJson(e)), { eventTimeMicros: e.eventTimeMicros, timeSeriesId: e.timeSeriesId, eventId: e.eventId });
      }
    }
  });

  it('encodePackedPageJson of joined eventJson texts writes exactly JSON.stringify(encodePage(page)); appended, truncated and split back', () => {
    for (const [seed, series] of [[5, 's0'], [6, 'ключ "x" \\ \n 😀,"eventTime":"'], [7, '\u0001'], [8, '']] as const) {
      for (const count of [0, 1, 2, 7, 100]) {
        const events = seededEvents(seed * 100 + count, count, series);
        for (const cut of [0, 1, Math.floor(count / 2), count].filter((c) => c <= count)) {
          // Two scans appended, then cut to a page, as the read path does.
          const joined = joinEventJson(events.slice(0, cut).map(eventJson));
          appendJoinedJson(joined, joinEventJson(events.slice(cut).map(eventJson)));
          assert.deepEqual(joined, joinEventJson(events.map(eventJson)), `seed ${seed}, ${count} events, appended at ${cut}`);
          for (let i = 0; i < count; i++) assert.equal(joinedEventText(joined, i), eventJson(events[i]!));
          truncateJoinedJson(joined, cut);
          const page = { events: events.slice(0, cut), partial: false, nextPageToken: 'eyJx.AAAA-_' };
          assert.equal(encodePackedPageJson({ ...page, events: joined }, series), JSON.stringify(encodePage(page)), `seed ${seed}, ${count} events, cut at ${cut}`);
          if (cut > 0) assert.deepEqual(eventJsonPosition(joinedEventText(joined, cut - 1)), { eventTimeMicros: events[cut - 1]!.eventTimeMicros, timeSeriesId: series, eventId: events[cut - 1]!.eventId });
        }
      }
    }
  });

  it('eventJsonPosition reads back every microsecond of the event time (the page token\'s cursor)', () => {
    const rand = prng(21);
    const times = [0, 1, 999, 1000, 1001, -1, -1000, -1001, 1_780_000_000_000_000, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor((rand() * 2 - 0.3) * 4_000_000_000_000);
      times.push(ms * 1000 + (rand() < 0.3 ? 0 : Math.floor(rand() * 1000)));
    }
    for (const eventTimeMicros of times) {
      const e = { timeSeriesId: 's', eventTimeMicros, eventId: 'e', items: [] };
      assert.equal(eventJsonPosition(eventJson(e)).eventTimeMicros, eventTimeMicros, String(eventTimeMicros));
    }
  });

  it('unpackEvents inverts packEvents; positions, append and truncate', () => {
    const events = seededEvents(7, 50, 'x');
    const packed = packEvents(events);
    assert.deepEqual(unpackEvents(packed, 'x'), events);
    assert.deepEqual(packedPosition(packed, 10), { eventTimeMicros: events[10]!.eventTimeMicros, eventId: events[10]!.eventId });
    const joined = emptyPacked();
    appendPacked(joined, packEvents(events.slice(0, 20)));
    appendPacked(joined, packEvents(events.slice(20)));
    assert.deepEqual(joined, packed);
    truncatePacked(joined, 5);
    assert.deepEqual(unpackEvents(joined, 'x'), events.slice(0, 5));
  });

  it('a failing packed scan fails as scanTimeBucket does (same store call in the message: the fast path answers as Fastify)', async () => {
    const busy = () => Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
    const events = { scanTimeBucket: busy, scanTimeBucketPacked: busy } as unknown as EventStore;
    const translate = errorTranslator((err) => ((err as { code?: string }).code === 'SQLITE_BUSY' ? { code: 'UNAVAILABLE', reason: 'the database is busy' } : undefined));
    const set = wrapStoreSet({ name: 'sqlite', capabilities: { durable: true, shared: false, ttl: false }, translate, parts: { events } });
    const scan: TimeBucketScan = { namespace: 'n', sliceId: 0, timeSeriesId: 's', timeBucket: 0, eventBuckets: 4, fromMicros: 0, toMicros: 1, limit: 1 };
    const records = await set.events!.scanTimeBucket!(scan).then(() => assert.fail('no error'), (err: Error) => err);
    const packed = await set.events!.scanTimeBucketPacked!(scan).then(() => assert.fail('no error'), (err: Error) => err);
    assert.equal(packed.message, records.message);
    assert.equal((packed as { code?: string }).code, (records as { code?: string }).code);
    assert.match(records.message, /^sqlite\.events\.scanTimeBucket: the database is busy$/);
  });

  it('a failing packed search fails as search does (same store call in the message)', async () => {
    const busy = () => Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
    const index = { search: busy, searchPacked: busy, searchJson: busy } as unknown as IndexStore;
    const translate = errorTranslator((err) => ((err as { code?: string }).code === 'SQLITE_BUSY' ? { code: 'UNAVAILABLE', reason: 'the database is busy' } : undefined));
    const set = wrapStoreSet({ name: 'sqlite', capabilities: { durable: true, shared: false, ttl: false }, translate, parts: { index } });
    const search: IndexSearch = { namespace: 'n', query: { all: true }, fromMicros: 0, toMicros: 1, limit: 1 };
    const records = await set.index!.search(search).then(() => assert.fail('no error'), (err: Error) => err);
    const packed = await set.index!.searchPacked!(search).then(() => assert.fail('no error'), (err: Error) => err);
    assert.equal(packed.message, records.message);
    const texts = await set.index!.searchJson!(search).then(() => assert.fail('no error'), (err: Error) => err);
    assert.equal(texts.message, records.message);
    assert.match(records.message, /^sqlite\.index\.search: the database is busy$/);
  });

  it("SQLite's json_quote writes what JSON.stringify writes (every code point to U+07FF, and beyond)", () => {
    const db = new Database(':memory:');
    const quote = db.prepare('SELECT json_quote(?)').pluck(true);
    const cases: string[] = [];
    for (let c = 1; c < 0x800; c++) cases.push(String.fromCharCode(c));
    cases.push('', '\u2028\u2029', '\ufeff', '\ufffd', '\uffff', '😀', '\u{10ffff}', 'a"b\\c/d', 'é✓字', ...seededEvents(9, 100, 'x').map((e) => e.eventId));
    for (const text of cases) assert.equal(quote.get(text), JSON.stringify(text), JSON.stringify(text));
    db.close();
  });
});
