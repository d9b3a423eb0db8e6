import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruRollupCache } from '../../src/storage/in-process/lru-rollup-cache.js';

const at = (ts: number) => ({ count: BigInt(ts), rollupTsMicros: ts });

describe('LruRollupCache', () => {
  it('evicts the least recently read or written counter beyond maxEntries, across namespaces', async () => {
    const cache = new LruRollupCache({ maxEntries: 3 });
    await cache.put('a', 'x', at(1));
    await cache.put('b', 'x', at(2));
    await cache.put('a', 'y', at(3));
    assert.equal(cache.size, 3);
    // Reads (get and peek) and a newer put make an entry the newest; an older put does not.
    assert.deepEqual(await cache.get('a', 'x'), at(1));
    assert.deepEqual(cache.peek('b', 'x'), at(2));
    await cache.put('a', 'y', at(2));
    await cache.put('c', 'z', at(4));
    assert.equal(cache.size, 3);
    assert.equal(await cache.get('a', 'y'), undefined);
    await cache.put('a', 'x', at(5));
    await cache.put('c', 'w', at(6));
    assert.equal(cache.peek('b', 'x'), undefined);
    assert.deepEqual(await cache.get('a', 'x'), at(5));
    assert.deepEqual(await cache.get('c', 'z'), at(4));
    assert.deepEqual(await cache.get('c', 'w'), at(6));
  });

  it('dropNamespace forgets that namespace only, and its entries no longer count', async () => {
    const cache = new LruRollupCache({ maxEntries: 2 });
    await cache.put('a', 'x', at(1));
    await cache.put('b', 'x', at(2));
    await cache.dropNamespace('a');
    assert.equal(cache.size, 1);
    await cache.put('c', 'x', at(3));
    assert.deepEqual(await cache.get('b', 'x'), at(2));
    assert.deepEqual(await cache.get('c', 'x'), at(3));
    assert.equal(await cache.get('a', 'x'), undefined);
  });

  it('get hands out a copy; peek the cached value, replaced (not changed) by a later put', async () => {
    const cache = new LruRollupCache();
    await cache.put('a', 'x', at(1));
    const copy = (await cache.get('a', 'x'))!;
    copy.count = 99n;
    const seen = cache.peek('a', 'x');
    assert.deepEqual(seen, at(1));
    await cache.put('a', 'x', at(2));
    assert.deepEqual(seen, at(1));
    assert.deepEqual(cache.peek('a', 'x'), at(2));
  });
});
