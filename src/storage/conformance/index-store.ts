/** Conformance of IndexStore (DESIGN 3.4): equals, range, boolean queries, paging, distinct, count. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventRecord, IndexDoc, IndexField, IndexSearch, IndexStore, SearchExpr, SearchPosition } from '../contracts.js';
import { packSeriesEvents } from '../../domain/packed-events.js';
import { eventJson, joinEventJson } from '../../domain/event-json.js';
import { event, freshNamespace, need, plain, SEC, T0, type ConformanceContext, type SkipContext } from './support.js';

const DAY = 86_400 * SEC;

/** Six documents with every field type; `n` (INTEGER) 0..5, at T0 + n seconds. */
function corpus(namespace: string): IndexDoc[] {
  const rows: Array<[string, number, boolean, string]> = [
    ['red', 1.5, true, 'The quick brown Fox'],
    ['blue', 2.5, false, 'lazy dog, quick!'],
    ['red', -1, true, 'fox-trot 42'],
    ['green', 0, false, 'Quick'],
    ['blue', 10, true, ''],
    ['Red', 3, false, 'brown bear'],
  ];
  return rows.map(([kw, d, b, text], n) => {
    const fields: IndexField[] = [
      { key: 'kw', type: 'KEYWORD', value: kw },
      { key: 'n', type: 'INTEGER', value: n },
      { key: 'd', type: 'DOUBLE', value: d },
      { key: 'b', type: 'BOOLEAN', value: b },
      { key: 'when', type: 'DATE', value: T0 + n * DAY },
      { key: 'txt', type: 'TEXT', value: text },
    ];
    if (n === 5) fields.splice(1, 1); // doc 5 lacks `n`
    return { namespace, event: event(`ts${n % 2}`, T0 + n * SEC, `e${n}`, { kw, txt: text }), fields };
  });
}

/** Registers the IndexStore tests. */
export function registerIndexTests(ctx: ConformanceContext): void {
  const store = (t: SkipContext): IndexStore | undefined => need(t, ctx.stores().index, 'index store', ctx.stores().name);
  const setup = async (index: IndexStore): Promise<string> => {
    const ns = freshNamespace();
    await index.indexEvents(corpus(ns));
    return ns;
  };
  const ids = async (index: IndexStore, namespace: string, query: SearchExpr): Promise<string[]> =>
    (await index.search({ namespace, query, fromMicros: T0, toMicros: T0 + DAY, limit: 100 })).map((e) => e.eventId).sort();

  describe('index', () => {
    it('equals on KEYWORD, INTEGER, DOUBLE, BOOLEAN, DATE', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = await setup(index);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'kw', value: 'red' } }), ['e0', 'e2']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'n', value: 3 } }), ['e3']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'd', value: 2.5 } }), ['e1']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'b', value: true } }), ['e0', 'e2', 'e4']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'when', value: T0 + 2 * DAY } }), ['e2']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'missing', value: 'red' } }), []);
    });

    it('equals on TEXT matches when every query token is a field token', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = await setup(index);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'txt', value: 'QUICK' } }), ['e0', 'e1', 'e3']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'txt', value: 'fox quick' } }), ['e0']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'txt', value: 'Trot-FOX' } }), ['e2']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'txt', value: '42' } }), ['e2']);
      assert.deepEqual(await ids(index, ns, { equals: { key: 'txt', value: 'qui' } }), []);
    });

    it('range with inclusive, exclusive and one-sided bounds', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = await setup(index);
      const r = (lower?: [number | string, boolean], upper?: [number | string, boolean], key = 'n'): SearchExpr => ({
        range: {
          key,
          ...(lower ? { lower: { value: lower[0], inclusive: lower[1] } } : {}),
          ...(upper ? { upper: { value: upper[0], inclusive: upper[1] } } : {}),
        },
      });
      assert.deepEqual(await ids(index, ns, r([1, true], [3, true])), ['e1', 'e2', 'e3']);
      assert.deepEqual(await ids(index, ns, r([1, false], [3, false])), ['e2']);
      assert.deepEqual(await ids(index, ns, r([3, true])), ['e3', 'e4']);
      assert.deepEqual(await ids(index, ns, r(undefined, [0, true])), ['e0']);
      assert.deepEqual(await ids(index, ns, r([0, true], [2.5, true], 'd')), ['e0', 'e1', 'e3']);
      assert.deepEqual(await ids(index, ns, r([T0 + 4 * DAY, true], undefined, 'when')), ['e4', 'e5']);
      assert.deepEqual(await ids(index, ns, r(['blue', false], ['red', true], 'kw')), ['e0', 'e2', 'e3']);
      assert.deepEqual(await ids(index, ns, r(['R', true], ['b', false], 'kw')), ['e5']);
    });

    it('nested and / or / not; not matches events lacking the field', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = await setup(index);
      const red: SearchExpr = { equals: { key: 'kw', value: 'red' } };
      const t3: SearchExpr = { equals: { key: 'n', value: 3 } };
      assert.deepEqual(await ids(index, ns, { or: [red, t3] }), ['e0', 'e2', 'e3']);
      assert.deepEqual(await ids(index, ns, { and: [red, { equals: { key: 'b', value: true } }, { not: { equals: { key: 'n', value: 0 } } }] }), ['e2']);
      assert.deepEqual(await ids(index, ns, { not: { range: { key: 'n', lower: { value: 1, inclusive: true } } } }), ['e0', 'e5']);
      assert.deepEqual(
        await ids(index, ns, { and: [{ or: [red, { equals: { key: 'kw', value: 'blue' } }] }, { not: { equals: { key: 'txt', value: 'quick' } } }] }),
        ['e2', 'e4'],
      );
      assert.deepEqual(await ids(index, ns, { and: [] }), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
      assert.deepEqual(await ids(index, ns, { or: [] }), []);
    });

    it('all, search order, interval edges and after paging', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = freshNamespace();
      const docs = corpus(ns);
      // Ties on eventTime break by timeSeriesId then eventId.
      docs.push({ namespace: ns, event: event('ts0', T0 + 3 * SEC, 'e9', { k: 'v' }), fields: [] });
      docs.push({ namespace: ns, event: event('ts0', T0 + 3 * SEC, 'e8', { k: 'v' }), fields: [] });
      await index.indexEvents(docs);
      const base = { namespace: ns, query: { all: true } as const, fromMicros: T0 + SEC, toMicros: T0 + 5 * SEC };
      // The packed form (issue 9), where the store has it: exactly packSeriesEvents of the records.
      const search = async (q: IndexSearch): Promise<EventRecord[]> => {
        const got = await index.search(q);
        if (index.searchPacked) assert.deepEqual(await index.searchPacked(q), packSeriesEvents(got), `packed: ${JSON.stringify({ ...q, namespace: undefined })}`);
        if (index.searchJson) assert.deepEqual(await index.searchJson(q), joinEventJson(got.map(eventJson)), `JSON texts: ${JSON.stringify({ ...q, namespace: undefined })}`);
        return got;
      };
      const full = await search({ ...base, limit: 100 });
      assert.deepEqual(full.map((e) => `${e.timeSeriesId}/${e.eventId}`), ['ts0/e4', 'ts0/e8', 'ts0/e9', 'ts1/e3', 'ts0/e2', 'ts1/e1']);
      assert.deepEqual(plain(full.slice(0, 1)), plain([docs[4]!.event]));
      const paged = [];
      let after: SearchPosition | undefined;
      for (;;) {
        const page = await search({ ...base, limit: 2, ...(after ? { after } : {}) });
        paged.push(...page);
        const last = page[page.length - 1];
        if (!last) break;
        after = { eventTimeMicros: last.eventTimeMicros, timeSeriesId: last.timeSeriesId, eventId: last.eventId };
      }
      assert.deepEqual(plain(paged), plain(full));
      assert.equal(await index.count(base), 6);
    });

    it('distinct with counts, text order and afterValue paging', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = await setup(index);
      const base = { namespace: ns, key: 'kw', query: { all: true } as const, fromMicros: T0, toMicros: T0 + DAY, limit: 10 };
      assert.deepEqual(await index.distinct(base), [
        { text: 'Red', count: 1 },
        { text: 'blue', count: 2 },
        { text: 'green', count: 1 },
        { text: 'red', count: 2 },
      ]);
      assert.deepEqual(await index.distinct({ ...base, limit: 2, afterValue: 'blue' }), [
        { text: 'green', count: 1 },
        { text: 'red', count: 2 },
      ]);
      assert.deepEqual(await index.distinct({ ...base, query: { equals: { key: 'b', value: true } } }), [
        { text: 'blue', count: 1 },
        { text: 'red', count: 2 },
      ]);
      assert.deepEqual(await index.distinct({ ...base, key: 'b' }), [
        { text: 'false', count: 3 },
        { text: 'true', count: 3 },
      ]);
      const dates = await index.distinct({ ...base, key: 'when', limit: 1 });
      assert.deepEqual(dates, [{ text: '2024-10-03T00:00:00.000Z', count: 1 }]);
      assert.deepEqual(await index.distinct({ ...base, key: 'n', query: { range: { key: 'd', lower: { value: 2, inclusive: true } } } }), [
        { text: '1', count: 1 },
        { text: '4', count: 1 },
      ]);
    });

    it('count, re-index no-op, dropBefore and dropNamespace', async (t) => {
      const index = store(t);
      if (!index) return;
      const ns = await setup(index);
      const all = { namespace: ns, query: { all: true } as const, fromMicros: T0, toMicros: T0 + DAY };
      assert.equal(await index.count(all), 6);
      assert.equal(await index.count({ ...all, query: { equals: { key: 'kw', value: 'blue' } } }), 2);
      const again = corpus(ns).map((d) => ({ ...d, fields: [{ key: 'kw', type: 'KEYWORD' as const, value: 'changed' }] }));
      await index.indexEvents(again);
      assert.equal(await index.count(all), 6);
      assert.equal(await index.count({ ...all, query: { equals: { key: 'kw', value: 'changed' } } }), 0);
      await index.dropBefore(ns, T0 + 2 * SEC);
      assert.deepEqual(await ids(index, ns, { all: true }), ['e2', 'e3', 'e4', 'e5']);
      await index.dropNamespace(ns);
      assert.equal(await index.count(all), 0);
    });
  });
}
