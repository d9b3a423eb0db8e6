/**
 * ReadEventRecords on SQLite reads a time bucket in one query (EventStore.scanTimeBucket,
 * issue 9): one range of a time-ordered slice table, or the merge of the event buckets of a
 * bucketed one (schema.ts SliceLayout); both are checked. The pages must be exactly those
 * of the read path's own merge of partition scans: seeded random events over several
 * slices, time buckets and event buckets (ties on time, multi-item events), random
 * intervals, page sizes, totalRecordLimit and filters, every page followed to the end
 * through its token; on time-ordered tables also with more event buckets than a merge
 * statement takes (MAX_MERGED_BUCKETS).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, MICROS_PER_SECOND } from '../../src/kernel/clock.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { parseTimeSeriesNamespace } from '../../src/core/control/timeseries-doc.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import type { EventPage, ReadQuery, TimeSeriesService } from '../../src/core/timeseries/api.js';
import type { TimeSeriesConfig } from '../../src/core/control/types.js';
import { encodePackedPageJson, encodePage } from '../../src/server/wire/timeseries-wire.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { EventRecord, EventStore, StoreSet } from '../../src/storage/contracts.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';
import { BUCKETED_LAYOUT, TIME_ORDERED_LAYOUT } from '../../src/storage/sqlite/schema.js';
import { prng } from '../support/dgw-load.js';
import { tempDir } from '../support/temp-dir.js';

const S = MICROS_PER_SECOND;

/** The same store set without scanTimeBucket: the read path merges partition scans itself. */
function withoutMergedScan(set: StoreSet): StoreSet {
  const e = set.events!;
  const events: EventStore = {
    listSlices: (ns) => e.listSlices(ns),
    createSlice: (ns, s) => e.createSlice(ns, s),
    setSliceStatus: (ns, id, st) => e.setSliceStatus(ns, id, st),
    findEvents: (l) => e.findEvents(l),
    dropNamespace: (ns) => e.dropNamespace(ns),
    appendEvents: (w, o) => e.appendEvents(w, o),
    scanPartition: (s) => e.scanPartition(s),
  };
  return { ...set, name: set.name, capabilities: set.capabilities, events, ping: () => set.ping(), close: () => set.close() };
}

const plain = (events: readonly EventRecord[]) =>
  events.map((e) => `${e.timeSeriesId}@${e.eventTimeMicros}/${e.eventId}{${e.items.map((i) => `${i.key}=${Buffer.from(i.value).toString('hex')}`).join(',')}}`);

/**
 * The packed read (issue 9) of the same query gives the same page: its JSON text is the
 * generic encoding's, token included; with filters there is no packed read.
 */
async function samePacked(service: TimeSeriesService, cfg: TimeSeriesConfig, q: ReadQuery, page: EventPage, what: string): Promise<void> {
  const packed = await service.readPacked!(cfg, q);
  if (q.eventFilters.length > 0) {
    assert.equal(packed, undefined, `${what}: no packed read with filters`);
    return;
  }
  assert.ok(packed, `${what}: a packed read`);
  assert.equal(encodePackedPageJson(packed, q.timeSeriesId), JSON.stringify(encodePage(page)), `${what}: packed JSON`);
}

/** Both keys of slice tables (schema.ts SliceLayout): new tables, and those of databases from before schema 7. */
const LAYOUTS = [
  ['time-ordered slice tables', TIME_ORDERED_LAYOUT],
  ['bucketed slice tables (before schema 7)', BUCKETED_LAYOUT],
] as const;

for (const [layoutName, sliceLayout] of LAYOUTS) {
  describe(`ReadEventRecords on SQLite: merged time-bucket scans, ${layoutName}`, () => {
    // 100 event buckets: more than one merge statement takes (MAX_MERGED_BUCKETS = 64).
    for (const eventBuckets of [4, 100]) it(`returns exactly the pages of the partition merge, tokens followed to the end (${eventBuckets} event buckets)`, async () => {
      const clock = new ManualClock(Date.UTC(2024, 9, 3, 12, 0, 0) * 1000);
      const set = createSqliteStores({ dataDir: tempDir(), clock, sliceLayout });
      assert.ok(set.events!.scanTimeBucket, 'the SQLite store merges time buckets');
      const view = createEmbeddedStoreResolver('sqlite', { stores: ['sqlite'] });
      const merged = createTimeSeriesService({ clock, catalog: new StoreCatalog('sqlite', [['sqlite', set]]) });
      const apart = createTimeSeriesService({ clock, catalog: new StoreCatalog('sqlite', [['sqlite', withoutMergedScan(set)]]) });
      try {
        // 2 h slices of 10 min buckets: a 5 h interval spans 3 slices and 30 time buckets.
        const timePartition = { secondsPerTimeSlice: 7200, secondsPerTimeBucket: 600, eventBuckets };
        const cfg = parseTimeSeriesNamespace('merged_reads', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition } }] }, view).config;
        const rand = prng(21);
        const pick = (n: number) => Math.floor(rand() * n);
        const now = clock.nowMicros();
        const span = 5 * 3600 * S;
        const events: EventRecord[] = [];
        for (let i = 0; i < 1500; i++) {
          const items = Array.from({ length: 1 + pick(3) }, (_, k) => ({ key: `k${k}`, value: new Uint8Array(k === 0 ? [pick(3)] : [pick(3), pick(256)]) }));
          // Times on a coarse grid: many events share a time and are ordered by id.
          events.push({ timeSeriesId: pick(4) === 0 ? 'other' : 's', eventTimeMicros: now - pick(span / (20 * S)) * 20 * S, eventId: `e${pick(5000)}`, items });
        }
        for (let i = 0; i < events.length; i += 250) await merged.writeSync(cfg, events.slice(i, i + 250));

        for (let trial = 0; trial < 30; trial++) {
          const start = now - span - pick(2) * 3600 * S + (pick(2) === 0 ? pick(span) : 0);
          const end = Math.min(now + 1, start + 1 + pick(span + 3600 * S));
          const q: ReadQuery = {
            timeSeriesId: 's',
            startMicros: start,
            endMicros: end,
            eventFilters: pick(3) === 0 ? [{ key: 'k0', value: new Uint8Array([pick(3)]) }] : [],
            pageSize: [1, 7, 50, 100, 1000][pick(5)]!,
            totalRecordLimit: pick(3) === 0 ? 1 + pick(300) : 0,
            allowPartial: false,
          };
          let tokenA: string | undefined;
          let tokenB: string | undefined;
          let pages = 0;
          for (;;) {
            const a = await merged.read(cfg, { ...q, ...(tokenA ? { pageToken: tokenA } : {}) });
            const b = await apart.read(cfg, { ...q, ...(tokenB ? { pageToken: tokenB } : {}) });
            assert.deepEqual(plain(a.events), plain(b.events), `trial ${trial} page ${pages}`);
            await samePacked(merged, cfg, { ...q, ...(tokenA ? { pageToken: tokenA } : {}) }, a, `trial ${trial} page ${pages}`);
            assert.equal(a.nextPageToken === undefined, b.nextPageToken === undefined, `trial ${trial} page ${pages}: tokens`);
            assert.equal(a.partial, b.partial);
            tokenA = a.nextPageToken;
            tokenB = b.nextPageToken;
            pages++;
            if (!tokenA) break;
          }
        }
      } finally {
        await set.close();
      }
    });

    it('ids ordered by code point (UTF-8 bytes) in every merge: astral and U+E000–U+FFFF ids at one time, paged one by one, none lost', async () => {
      // UTF-16 code units put an astral character (a surrogate pair, 0xD800–0xDBFF first)
      // before U+E000–U+FFFF; SQLite, PostgreSQL ("C") and Cassandra order by UTF-8 bytes,
      // where it comes after. A merge of partition scans in the other order hands the store a
      // cursor it orders differently, and the next page skipped the events in between.
      const clock = new ManualClock(Date.UTC(2024, 9, 3, 12, 0, 0) * 1000);
      const set = createSqliteStores({ dataDir: tempDir(), clock, sliceLayout });
      const view = createEmbeddedStoreResolver('sqlite', { stores: ['sqlite'] });
      const merged = createTimeSeriesService({ clock, catalog: new StoreCatalog('sqlite', [['sqlite', set]]) });
      const apart = createTimeSeriesService({ clock, catalog: new StoreCatalog('sqlite', [['sqlite', withoutMergedScan(set)]]) });
      try {
        const timePartition = { secondsPerTimeSlice: 7200, secondsPerTimeBucket: 600, eventBuckets: 4 };
        const cfg = parseTimeSeriesNamespace('codepoint_order', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition } }] }, view).config;
        const time = clock.nowMicros() - 60 * S;
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) ids.push(`\u{1F600}${i}`, `\uE000${i}`, `\uFFFD${i}`, `\u{10000}${i}`, `a${i}`);
        const events: EventRecord[] = ids.map((eventId) => ({ timeSeriesId: 's', eventTimeMicros: time, eventId, items: [{ key: 'k', value: new Uint8Array([1]) }] }));
        await merged.writeSync(cfg, events);
        const byBytes = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        for (const [name, service] of [['merged in SQLite', merged], ['merged by the read path', apart]] as const) {
          for (const pageSize of [1, 2, 7]) {
            const q: ReadQuery = { timeSeriesId: 's', startMicros: time - S, endMicros: time + S, eventFilters: [], pageSize, totalRecordLimit: 0, allowPartial: false };
            const seen: string[] = [];
            let token: string | undefined;
            do {
              const page = await service.read(cfg, { ...q, ...(token ? { pageToken: token } : {}) });
              seen.push(...page.events.map((e) => e.eventId));
              token = page.nextPageToken;
            } while (token);
            assert.deepEqual(seen, byBytes, `${name}, page size ${pageSize}`);
          }
        }
      } finally {
        await set.close();
      }
    });

    it('packed pages of unusual events: unicode and escaped ids, keys and series, empty and long values, many items', async () => {
      const clock = new ManualClock(Date.UTC(2024, 9, 3, 12, 0, 0) * 1000);
      const set = createSqliteStores({ dataDir: tempDir(), clock, sliceLayout });
      const view = createEmbeddedStoreResolver('sqlite', { stores: ['sqlite'] });
      const service = createTimeSeriesService({ clock, catalog: new StoreCatalog('sqlite', [['sqlite', set]]) });
      try {
        const timePartition = { secondsPerTimeSlice: 7200, secondsPerTimeBucket: 600, eventBuckets: 4 };
        const cfg = parseTimeSeriesNamespace('packed_reads', { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d', timePartition } }] }, view).config;
        const rand = prng(33);
        const pick = (n: number) => Math.floor(rand() * n);
        const chars = ['a', 'Z', '"', '\\', '\n', '\u0001', '\u001e', '\u001f', '\u007f', 'é', '字', '\u2028', '😀', ' '];
        const text = (max: number) => Array.from({ length: 1 + pick(max) }, () => chars[pick(chars.length)]!).join('');
        const sizes = [0, 1, 2, 3, 48, 49, 64, 65, 200, 5000];
        const now = clock.nowMicros();
        const series = ['plain', 'ключ "q" \\ 😀\n'];
        const events: EventRecord[] = [];
        for (let i = 0; i < 400; i++) {
          const keys = new Set<string>();
          for (let k = 1 + pick(pick(4) === 0 ? 30 : 3); k > 0; k--) keys.add(text(5));
          events.push({
            timeSeriesId: series[i % 2]!,
            eventTimeMicros: now - pick(3 * 3600) * S - pick(1000),
            eventId: text(8),
            items: [...keys].sort().map((key) => ({ key, value: new Uint8Array(Array.from({ length: sizes[pick(sizes.length)]! }, () => pick(256))) })),
          });
        }
        for (let i = 0; i < events.length; i += 100) await service.writeSync(cfg, events.slice(i, i + 100));
        for (const timeSeriesId of series) {
          for (const pageSize of [1, 3, 10, 1000]) {
            const q: ReadQuery = { timeSeriesId, startMicros: now - 4 * 3600 * S, endMicros: now + 1, eventFilters: [], pageSize, totalRecordLimit: 0, allowPartial: false };
            let token: string | undefined;
            let pages = 0;
            let seen = 0;
            for (;;) {
              const page = await service.read(cfg, { ...q, ...(token ? { pageToken: token } : {}) });
              await samePacked(service, cfg, { ...q, ...(token ? { pageToken: token } : {}) }, page, `${JSON.stringify(timeSeriesId)} page size ${pageSize} page ${pages}`);
              seen += page.events.length;
              token = page.nextPageToken;
              pages++;
              if (!token) break;
            }
            assert.equal(seen, events.filter((e) => e.timeSeriesId === timeSeriesId).length);
          }
        }
      } finally {
        await set.close();
      }
    });
  });
}
