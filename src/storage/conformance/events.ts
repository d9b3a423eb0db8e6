/** Conformance of EventStore (DESIGN 3.2): slices, idempotent appends, newest-first scans. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventPosition, EventRecord, EventStore, IndexDoc, PartitionScan, SliceInfo, TimeBucketScan } from '../contracts.js';
import {
  event,
  freshNamespace,
  need,
  plain,
  rejectsWith,
  SEC,
  slice,
  T0,
  write,
  type ConformanceContext,
  type SkipContext,
} from './support.js';
import { seeded } from './seeded.js';
import { compareNewestFirst } from '../slice-rules.js';
import { packEvents } from '../../domain/packed-events.js';
import { eventJson, joinEventJson } from '../../domain/event-json.js';

/** Pages through a whole partition with `after`, `limit` events at a time. */
async function scanAll(events: EventStore, scan: Omit<PartitionScan, 'after'>): Promise<EventRecord[]> {
  const all: EventRecord[] = [];
  let after: PartitionScan['after'];
  for (;;) {
    const page = await events.scanPartition(after ? { ...scan, after } : scan);
    assert.ok(page.length <= scan.limit, 'page longer than limit');
    all.push(...page);
    const last = page[page.length - 1];
    if (!last || page.length < scan.limit) return all;
    after = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
  }
}

/** What scanTimeBucket must return: the first `limit` of the merged partition scans. */
async function mergedByPartitions(events: EventStore, scan: TimeBucketScan): Promise<EventRecord[]> {
  const all: EventRecord[] = [];
  for (let eb = 0; eb < scan.eventBuckets; eb++) {
    const part: PartitionScan = {
      namespace: scan.namespace,
      sliceId: scan.sliceId,
      partition: { timeSeriesId: scan.timeSeriesId, timeBucket: scan.timeBucket, eventBucket: eb },
      fromMicros: scan.fromMicros,
      toMicros: scan.toMicros,
      limit: scan.limit,
      ...(scan.after ? { after: scan.after } : {}),
    };
    all.push(...(await events.scanPartition(part)));
  }
  return all.sort(compareNewestFirst).slice(0, scan.limit);
}

/** Registers the EventStore tests. */
export function registerEventTests(ctx: ConformanceContext): void {
  const store = (t: SkipContext): EventStore | undefined => need(t, ctx.stores().events, 'event store', ctx.stores().name);
  const s0 = slice();
  const part = (timeSeriesId: string) => ({ timeSeriesId, timeBucket: 0, eventBucket: 0 });
  const whole = (ns: string, ts: string, limit = 100) => ({
    namespace: ns,
    sliceId: s0.sliceId,
    partition: part(ts),
    fromMicros: s0.startMicros,
    toMicros: s0.endMicros,
    limit,
  });

  describe('events', () => {
    it('rewrites are idempotent: first write wins per item', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      // allNew, when a store answers it, is true only when no item was there already.
      const answers = [
        await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'e1', { x: '1' }))]),
        await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'e1', { x: '2', y: '3' }))]),
        await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'e1', { x: '9' }))]),
        await events.appendEvents([write(ns, s0, event('a', T0 + SEC, 'e2', { x: '1' })), write(ns, s0, event('a', T0 + SEC, 'e2', { x: '1' }))]),
      ].map((r) => r?.allNew);
      for (const [i, mayBeNew] of [true, false, false, false].entries()) if (!mayBeNew) assert.notEqual(answers[i], true, `append ${i + 1}: allNew`);
      assert.deepEqual(plain(await events.scanPartition(whole(ns, 'a'))), plain([event('a', T0 + SEC, 'e1', { x: '1', y: '3' }), event('a', T0 + SEC, 'e2', { x: '1' })]));
    });

    it('scans newest first, eventId ascending on ties, bytes exact', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      const evs = [
        event('a', T0 + 5, 'b', { k: 'v' }),
        event('a', T0 + 9, 'z', { k: 'v' }),
        event('a', T0 + 5, 'a', { k: 'v' }),
        event('a', T0 + 5, 'B', { k: 'v' }),
        event('a', T0 + 1, 'q', { k: '' }),
      ];
      evs.push({ timeSeriesId: 'a', eventTimeMicros: T0 + 2, eventId: 'bin', items: [{ key: 'b', value: new Uint8Array([0, 255, 0]) }] });
      await events.appendEvents(evs.map((e) => write(ns, s0, e)));
      await events.appendEvents([write(ns, s0, event('other', T0 + 7, 'o', { k: 'v' }))]);
      const got = await events.scanPartition(whole(ns, 'a'));
      assert.deepEqual(
        got.map((e) => `${e.eventTimeMicros - T0}/${e.eventId}`),
        ['9/z', '5/B', '5/a', '5/b', '2/bin', '1/q'],
      );
      assert.deepEqual([...got[4]!.items[0]!.value], [0, 255, 0]);
      assert.equal(got[5]!.items[0]!.value.length, 0);
    });

    it('intervals are start-inclusive, end-exclusive', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      await events.appendEvents([10, 20, 30].map((o) => write(ns, s0, event('a', T0 + o, `e${o}`, { k: 'v' }))));
      const got = await events.scanPartition({ ...whole(ns, 'a'), fromMicros: T0 + 10, toMicros: T0 + 30 });
      assert.deepEqual(got.map((e) => e.eventId), ['e20', 'e10']);
      assert.deepEqual(await events.scanPartition({ ...whole(ns, 'a'), fromMicros: T0 + 11, toMicros: T0 + 20 }), []);
    });

    it('pages with an exclusive cursor across a partition', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      const writes = [];
      for (let i = 0; i < 40; i++) writes.push(write(ns, s0, event('a', T0 + (i % 13) * SEC, `id${i}`, { k: String(i) })));
      await events.appendEvents(writes);
      const full = await events.scanPartition(whole(ns, 'a', 1000));
      assert.equal(full.length, 40);
      for (const limit of [1, 7, 40]) {
        assert.deepEqual(plain(await scanAll(events, whole(ns, 'a', limit))), plain(full), `limit ${limit}`);
      }
      const mid = full[10]!;
      const rest = await events.scanPartition({ ...whole(ns, 'a'), after: { eventTimeMicros: mid.eventTimeMicros, eventId: mid.eventId } });
      assert.deepEqual(plain(rest), plain(full.slice(11)));
    });

    it('limit counts whole events: multi-item events are never split', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      await events.appendEvents(
        [1, 2, 3].map((o) => write(ns, s0, event('a', T0 + o, `e${o}`, { a: '1', b: '2', c: '3' }))),
      );
      const page = await events.scanPartition(whole(ns, 'a', 2));
      assert.deepEqual(page.map((e) => [e.eventId, e.items.map((i) => i.key).join('')]), [['e3', 'abc'], ['e2', 'abc']]);
    });

    it('createSlice is idempotent, rejects overlaps, and listSlices orders by start', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      const later = slice(3600);
      const first = slice(0);
      await events.createSlice(ns, later);
      await events.createSlice(ns, first);
      await events.createSlice(ns, { ...first, eventBuckets: 9 }); // no-op: stored row kept
      await rejectsWith(events.createSlice(ns, slice(1800)), 'FAILED_PRECONDITION');
      await rejectsWith(events.createSlice(ns, slice(-60, 61)), 'FAILED_PRECONDITION');
      await events.createSlice(ns, slice(-60, 60)); // adjacent: allowed
      const listed = await events.listSlices(ns);
      assert.deepEqual(listed.map((s) => s.startMicros), [T0 - 60 * SEC, T0, T0 + 3600 * SEC]);
      assert.deepEqual(listed[1], first);
      assert.deepEqual(await events.listSlices(freshNamespace()), []);
    });

    it('a DROPPED slice scans empty and refuses appends; a missing slice refuses appends', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      const e = event('a', T0 + 1, 'e', { k: 'v' });
      await events.appendEvents([write(ns, s0, e)]);
      await events.setSliceStatus(ns, s0.sliceId, 'CLOSED');
      assert.equal((await events.listSlices(ns))[0]?.status, 'CLOSED');
      await events.setSliceStatus(ns, s0.sliceId, 'DROPPED');
      await events.setSliceStatus(ns, s0.sliceId, 'DROPPED');
      assert.equal((await events.listSlices(ns))[0]?.status, 'DROPPED');
      assert.deepEqual(await events.scanPartition(whole(ns, 'a')), []);
      await rejectsWith(events.appendEvents([write(ns, s0, e)]), 'FAILED_PRECONDITION');
      await rejectsWith(events.appendEvents([write(ns, slice(7200), event('a', T0 + 7200 * SEC, 'x', { k: 'v' }))]), 'FAILED_PRECONDITION');
      await rejectsWith(events.setSliceStatus(ns, 12345, 'CLOSED'), 'NOT_FOUND');
      assert.deepEqual(await events.scanPartition({ ...whole(ns, 'a'), sliceId: 999 }), []);
    });

    it('findEvents tells which events are stored', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      await events.appendEvents([write(ns, s0, event('a', T0 + 5, 'e', { k: 'v' }))]);
      const loc = { namespace: ns, sliceId: s0.sliceId, partition: part('a'), eventTimeMicros: T0 + 5, eventId: 'e' };
      assert.deepEqual(
        await events.findEvents([loc, { ...loc, eventId: 'f' }, { ...loc, eventTimeMicros: T0 + 6 }, { ...loc, namespace: freshNamespace() }]),
        [true, false, false, false],
      );
    });

    it('appendEvents spans namespaces in one call and is all-or-nothing', async (t) => {
      const events = store(t);
      if (!events) return;
      const [n1, n2] = [freshNamespace(), freshNamespace()];
      await events.createSlice(n1, s0);
      await events.createSlice(n2, s0);
      await events.appendEvents([write(n1, s0, event('a', T0, 'e1', { k: '1' })), write(n2, s0, event('a', T0, 'e2', { k: '2' }))]);
      assert.deepEqual((await events.scanPartition(whole(n1, 'a'))).map((e) => e.eventId), ['e1']);
      assert.deepEqual((await events.scanPartition(whole(n2, 'a'))).map((e) => e.eventId), ['e2']);
      const bad = write(freshNamespace(), s0, event('a', T0, 'e3', { k: '3' }));
      await rejectsWith(events.appendEvents([write(n1, s0, event('a', T0 + 1, 'e4', { k: '4' })), bad]), 'FAILED_PRECONDITION');
      assert.deepEqual((await events.scanPartition(whole(n1, 'a'))).map((e) => e.eventId), ['e1']);
    });

    it('appendEvents with a spent time bound refuses with DEADLINE_EXCEEDED and writes nothing', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      await rejectsWith(events.appendEvents([write(ns, s0, event('a', T0, 'late', { k: '1' }))], { timeoutMicros: 0 }), 'DEADLINE_EXCEEDED');
      assert.deepEqual(await events.scanPartition(whole(ns, 'a')), []);
      await events.appendEvents([write(ns, s0, event('a', T0, 'ok', { k: '1' }))], { timeoutMicros: 30 * SEC });
      assert.deepEqual((await events.scanPartition(whole(ns, 'a'))).map((e) => e.eventId), ['ok']);
    });

    it('atomicIndex: events and their index documents commit together or not at all', async (t) => {
      const set = ctx.stores();
      if (!set.capabilities.atomicIndex) return t.skip(`store "${set.name}" does not commit index documents with events`);
      const events = store(t);
      const index = set.index;
      if (!events || !index) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      const e1 = event('a', T0 + SEC, 'e1', { tag: 'x' });
      const doc = (e: EventRecord, namespace = ns) => ({ namespace, event: e, fields: [{ key: 'tag', type: 'KEYWORD' as const, value: 'x' }] });
      await events.appendEvents([write(ns, s0, e1)], { indexDocs: [doc(e1)] });
      const all = { namespace: ns, query: { all: true as const }, fromMicros: s0.startMicros, toMicros: s0.endMicros };
      assert.equal(await index.count(all), 1);
      // A batch refused by the event store (a missing slice) leaves no index document either.
      const e2 = event('a', T0 + 2 * SEC, 'e2', { tag: 'x' });
      const lost = write(freshNamespace(), s0, event('a', T0, 'e3', { tag: 'x' }));
      await rejectsWith(events.appendEvents([write(ns, s0, e2), lost], { indexDocs: [doc(e2)] }), 'FAILED_PRECONDITION');
      assert.equal(await index.count(all), 1);
      assert.deepEqual((await events.scanPartition(whole(ns, 'a'))).map((e) => e.eventId), ['e1']);
    });

    it('indexOutbox: outbox documents commit with their events, read back whole, clear, and go with the namespace', async (t) => {
      const set = ctx.stores();
      if (!set.capabilities.indexOutbox) return t.skip(`store "${set.name}" keeps no index outbox`);
      const events = store(t);
      if (!events?.readIndexOutbox || !events.clearIndexOutbox) return assert.fail('indexOutbox without readIndexOutbox/clearIndexOutbox');
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      const doc = (e: EventRecord, namespace = ns) => ({ namespace, event: e, fields: [{ key: 'tag', type: 'KEYWORD' as const, value: 'x' }, { key: 'n', type: 'LONG' as const, value: 7 }] });
      const flat = (docs: readonly IndexDoc[]) => docs.map((d) => `${d.namespace} ${plain([d.event]).join('')} ${JSON.stringify(d.fields)}`);
      const e1 = event('a', T0 + SEC, 'e1', { tag: 'x', n: '7' });
      const e2 = event('b', T0 + 2 * SEC, 'e2', { tag: 'x' });
      await events.appendEvents([write(ns, s0, e1), write(ns, s0, e2)], { outboxDocs: [doc(e1), doc(e2)] });
      // A retry of the same events keeps one entry each.
      await events.appendEvents([write(ns, s0, e1)], { outboxDocs: [doc(e1)] });
      assert.deepEqual(flat(await events.readIndexOutbox(ns, 10)), flat([doc(e1), doc(e2)]));
      assert.equal((await events.readIndexOutbox(ns, 1)).length, 1);
      // A batch refused by the event store leaves no outbox entry.
      const e3 = event('a', T0 + 3 * SEC, 'e3', { tag: 'x' });
      const lost = write(freshNamespace(), s0, event('a', T0, 'e4', { tag: 'x' }));
      await rejectsWith(events.appendEvents([write(ns, s0, e3), lost], { outboxDocs: [doc(e3)] }), 'FAILED_PRECONDITION');
      await events.clearIndexOutbox([doc(e1)]);
      assert.deepEqual(flat(await events.readIndexOutbox(ns, 10)), flat([doc(e2)]));
      await events.dropNamespace(ns);
      assert.deepEqual(await events.readIndexOutbox(ns, 10), []);
    });

    it('scanTimeBucket returns exactly the merged partition scans, cursors and multi-item events included', async (t) => {
      const events = store(t);
      if (!events) return;
      const scanRecords = events.scanTimeBucket?.bind(events);
      if (!scanRecords) {
        t.skip(`store "${ctx.stores().name}" has no scanTimeBucket (the read path merges partitions itself)`);
        return;
      }
      // The packed form (issue 9), where the store has it: the same events, checked at every scan.
      const packed = events.scanTimeBucketPacked?.bind(events);
      const json = events.scanTimeBucketJson?.bind(events);
      const scanTimeBucket = async (scan: TimeBucketScan): Promise<EventRecord[]> => {
        const got = await scanRecords(scan);
        // Exactly the texts packEvents writes (quoting, hex case), not only the same events.
        if (packed) assert.deepEqual(await packed(scan), packEvents(got), `packed: ${JSON.stringify({ ...scan, namespace: undefined })}`);
        // And each event's wire JSON, where the store has that form.
        if (json) assert.deepEqual(await json(scan), joinEventJson(got.map(eventJson)), `JSON: ${JSON.stringify({ ...scan, namespace: undefined })}`);
        return got;
      };
      const ns = freshNamespace();
      const rand = seeded(9);
      const pick = (n: number) => Math.floor(rand() * n);
      // Two slices: the usual 4 event buckets, and more than one statement merges.
      const slices: SliceInfo[] = [s0, slice(3600, 3600, { eventBuckets: 70 })];
      const writes = [];
      for (const sl of slices) {
        await events.createSlice(ns, sl);
        for (let i = 0; i < 160; i++) {
          // Few distinct times and ids: many ties broken by eventId; the event bucket is a
          // function of the id, as partitioning makes it (an event lives in one bucket).
          const idNo = pick(60);
          const items: Record<string, string> = {};
          for (let k = 1 + pick(3); k > 0; k--) items[`k${pick(4)}`] = `v${pick(1000)}`;
          const e = event(pick(5) === 0 ? 'other' : 'a', sl.startMicros + pick(2) * 60 * SEC + pick(25) * 1000, `e${idNo}`, items);
          writes.push(write(ns, sl, e, Math.floor((e.eventTimeMicros - sl.startMicros) / (60 * SEC)), idNo % sl.eventBuckets));
        }
      }
      await events.appendEvents(writes);
      for (const sl of slices) {
        for (const timeBucket of [0, 1]) {
          const bucketStart = sl.startMicros + timeBucket * 60 * SEC;
          const base = { namespace: ns, sliceId: sl.sliceId, timeSeriesId: 'a', timeBucket, eventBuckets: sl.eventBuckets };
          const whole = await mergedByPartitions(events, { ...base, fromMicros: bucketStart, toMicros: bucketStart + 60 * SEC, limit: 1000 });
          assert.ok(whole.length > 20, 'the random data fills the bucket');
          for (let trial = 0; trial < 40; trial++) {
            const from = bucketStart + (pick(3) === 0 ? pick(25) * 1000 : 0);
            const to = pick(3) === 0 ? bucketStart + pick(26) * 1000 + pick(2) : bucketStart + 60 * SEC;
            const limit = [1, 2, 3, 5, 8, 50, 1000][pick(7)]!;
            // Cursors at stored events and between them (a time or id that is not stored).
            const at = whole[pick(whole.length)]!;
            const after = [undefined, { eventTimeMicros: at.eventTimeMicros, eventId: at.eventId }, { eventTimeMicros: at.eventTimeMicros + pick(2), eventId: `e${pick(60)}x` }][pick(3)];
            const scan: TimeBucketScan = { ...base, fromMicros: from, toMicros: to, limit, ...(after ? { after } : {}) };
            const got = await scanTimeBucket(scan);
            assert.deepEqual(plain(got), plain(await mergedByPartitions(events, scan)), JSON.stringify({ ...scan, namespace: undefined }));
          }
          // Paging with the cursor of each page's last event walks the whole bucket once.
          for (const limit of [1, 3, 7]) {
            const walked: EventRecord[] = [];
            let after: EventPosition | undefined;
            for (;;) {
              const page = await scanTimeBucket({ ...base, fromMicros: bucketStart, toMicros: bucketStart + 60 * SEC, limit, ...(after ? { after } : {}) });
              assert.ok(page.length <= limit, 'page longer than limit');
              walked.push(...page);
              const last = page[page.length - 1];
              if (!last || page.length < limit) break;
              after = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
            }
            assert.deepEqual(plain(walked), plain(whole));
          }
        }
      }
      assert.deepEqual(await scanTimeBucket({ namespace: ns, sliceId: 999, timeSeriesId: 'a', timeBucket: 0, eventBuckets: 4, fromMicros: T0, toMicros: T0 + SEC, limit: 5 }), []);
      await events.setSliceStatus(ns, s0.sliceId, 'DROPPED');
      assert.deepEqual(await scanTimeBucket({ namespace: ns, sliceId: s0.sliceId, timeSeriesId: 'a', timeBucket: 0, eventBuckets: 4, fromMicros: T0, toMicros: T0 + 60 * SEC, limit: 5 }), []);
    });

    it('dropNamespace removes slices and events', async (t) => {
      const events = store(t);
      if (!events) return;
      const ns = freshNamespace();
      await events.createSlice(ns, s0);
      await events.createSlice(ns, slice(3600));
      await events.appendEvents([write(ns, s0, event('a', T0, 'e', { k: 'v' }))]);
      await events.dropNamespace(ns);
      assert.deepEqual(await events.listSlices(ns), []);
      assert.deepEqual(await events.scanPartition(whole(ns, 'a')), []);
      await events.createSlice(ns, s0);
      assert.deepEqual(await events.scanPartition(whole(ns, 'a')), []);
    });
  });
}
