/** The in-process best-effort counter cache (embedded mode) stays bounded. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCounterCache } from '../../src/storage/in-process/ttl-counter-cache.js';

describe('in-process best-effort cache', () => {
  it('stays bounded: the least recently written counter is evicted beyond maxEntries', async () => {
    const cache = new TtlCounterCache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await cache.add(k, 1n);
    await cache.add('a', 1n); // a is now the most recent
    await cache.add('d', 1n); // evicts b
    assert.equal(await cache.get('b'), 0n);
    assert.equal(await cache.get('a'), 2n);
    assert.equal(await cache.get('c'), 1n);
    assert.equal(await cache.get('d'), 1n);
  });
});
