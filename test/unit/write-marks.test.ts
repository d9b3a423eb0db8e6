/** Write marks are recorded once per counter per second, widened to whole seconds, bounded. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteMarkCache } from '../../src/core/counter/write-marks.js';

const S = 1_000_000;

describe('WriteMarkCache', () => {
  it('asks for a floor and a ceiling mark first, then nothing while covered, then only the side that grows', () => {
    const cache = new WriteMarkCache();
    const first = cache.needed('ns', 'c', 10 * S + 250);
    assert.deepEqual(first.map((m) => m.eventTimeMicros), [10 * S, 11 * S]);
    assert.deepEqual(cache.needed('ns', 'c', 10 * S + 900), first, 'nothing recorded yet: still needed');
    cache.recorded(first);
    assert.deepEqual(cache.needed('ns', 'c', 10 * S + 900), []);
    assert.deepEqual(cache.needed('ns', 'c', 11 * S), []);
    assert.deepEqual(cache.needed('ns', 'c', 11 * S + 1).map((m) => m.eventTimeMicros), [12 * S]);
    assert.deepEqual(cache.needed('ns', 'c', 9 * S + 5).map((m) => m.eventTimeMicros), [9 * S]);
    assert.equal(cache.needed('ns', 'other', 10 * S).length, 2);
  });

  it('stays bounded, forgetting the least recently recorded counter', () => {
    const cache = new WriteMarkCache(2);
    for (const c of ['a', 'b', 'c']) cache.recorded(cache.needed('ns', c, 5 * S));
    assert.equal(cache.needed('ns', 'a', 5 * S).length, 2, 'a was evicted');
    assert.deepEqual(cache.needed('ns', 'c', 5 * S), []);
  });
});
