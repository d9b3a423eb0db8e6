/** Write marks are recorded once per counter per second, widened to whole seconds, bounded. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { RENEW_AHEAD_MICROS, WriteMarkCache, WriteMarks, type MarkScope } from '../../src/core/counter/write-marks.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';
import { toDgwError } from '../../src/storage/native-errors.js';
import { wrapStoreSet } from '../../src/storage/store-wrapper.js';

const S = 1_000_000;
const NS: MarkScope = { namespace: 'ns', incarnation: '1@5' };

describe('WriteMarkCache', () => {
  it('asks for a floor and a ceiling mark first, then nothing while covered, then only the side that grows', () => {
    const cache = new WriteMarkCache();
    const first = cache.needed(NS, 'c', 10 * S + 250);
    assert.deepEqual(first.map((m) => m.eventTimeMicros), [10 * S, 11 * S]);
    assert.deepEqual(cache.needed(NS, 'c', 10 * S + 900), first, 'nothing recorded yet: still needed');
    cache.recorded(NS, first);
    assert.deepEqual(cache.needed(NS, 'c', 10 * S + 900), []);
    assert.deepEqual(cache.needed(NS, 'c', 11 * S), []);
    assert.deepEqual(cache.needed(NS, 'c', 11 * S + 1).map((m) => m.eventTimeMicros), [12 * S]);
    assert.deepEqual(cache.needed(NS, 'c', 9 * S + 5).map((m) => m.eventTimeMicros), [9 * S]);
    assert.equal(cache.needed(NS, 'other', 10 * S).length, 2);
  });

  it('stays bounded, forgetting the least recently recorded counter', () => {
    const cache = new WriteMarkCache(2);
    for (const c of ['a', 'b', 'c']) cache.recorded(NS, cache.needed(NS, c, 5 * S));
    assert.equal(cache.needed(NS, 'a', 5 * S).length, 2, 'a was evicted');
    assert.deepEqual(cache.needed(NS, 'c', 5 * S), []);
  });

  it('never takes a span of one incarnation of a namespace for another (issue 15)', () => {
    const cache = new WriteMarkCache();
    cache.recorded(NS, cache.needed(NS, 'c', 10 * S));
    assert.deepEqual(cache.needed(NS, 'c', 10 * S), []);
    const recreated: MarkScope = { namespace: 'ns', incarnation: '1@9' };
    assert.equal(cache.needed(recreated, 'c', 10 * S).length, 2, 're-created: marks needed again');
    cache.forget(NS, 'c');
    assert.equal(cache.needed(NS, 'c', 10 * S).length, 2, 'forgotten');
  });
});

describe('WriteMarks renewal ahead (issue 9)', () => {
  it('asks for the next second only in the last RENEW_AHEAD_MICROS of a covered span', () => {
    const cache = new WriteMarkCache();
    assert.equal(cache.renewal(NS, 'c', 10 * S), undefined, 'nothing known: the add records its own marks');
    cache.recorded(NS, cache.needed(NS, 'c', 10 * S + 250));
    assert.equal(cache.renewal(NS, 'c', 11 * S - RENEW_AHEAD_MICROS - 1), undefined, 'ends later than the renewal point');
    assert.equal(cache.renewal(NS, 'c', 11 * S - RENEW_AHEAD_MICROS)?.eventTimeMicros, 12 * S);
    assert.equal(cache.renewal(NS, 'c', 11 * S)?.eventTimeMicros, 12 * S);
    assert.equal(cache.renewal(NS, 'c', 11 * S + 1), undefined, 'past the span: needed(), not a renewal');
  });

  async function setup(shared: boolean) {
    const memory = createMemoryStores();
    const main = shared
      ? wrapStoreSet({ name: 'main', capabilities: { durable: true, shared: true, ttl: false }, translate: toDgwError, parts: { rollups: memory.rollups! } })
      : memory;
    const catalog = new StoreCatalog('main', [['main', main]]);
    const marks = new WriteMarks({ catalog });
    const doc = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'EVENTUAL' } }] };
    const config = parseCounterNamespace('n', doc, createEmbeddedStoreResolver('main', { stores: ['main'] })).config;
    const rollups = catalog.rollups('main');
    const span = async () => {
      const row = await rollups.get('n', 'c');
      return row && [row.firstWriteTsMicros, row.lastWriteTsMicros];
    };
    return { catalog, marks, config, span };
  }

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('renews a covered counter in the background on an unshared store, so the next second needs no mark', async () => {
    const { catalog, marks, config, span } = await setup(false);
    try {
      await marks.ensure(config, 'c', 10 * S + 300_000);
      assert.deepEqual(await span(), [10 * S, 11 * S]);
      await marks.ensure(config, 'c', 10 * S + 900_000);
      await settle();
      assert.deepEqual(await span(), [10 * S, 12 * S], 'renewed one second ahead');
      // Covered by the renewal: resolves with nothing to commit (the store row is not touched).
      await rollupsUnchanged(span, () => marks.ensure(config, 'c', 11 * S + 500_000));
    } finally {
      await catalog.close();
    }
  });

  it('does not renew ahead on a shared store (durable rollups expect marks no later than writes)', async () => {
    const { catalog, marks, config, span } = await setup(true);
    try {
      await marks.ensure(config, 'c', 10 * S + 300_000);
      await marks.ensure(config, 'c', 10 * S + 900_000);
      await settle();
      assert.deepEqual(await span(), [10 * S, 11 * S]);
    } finally {
      await catalog.close();
    }
  });
});

async function rollupsUnchanged(span: () => Promise<number[] | undefined>, work: () => Promise<void>): Promise<void> {
  const before = await span();
  await work();
  assert.deepEqual(await span(), before);
}
