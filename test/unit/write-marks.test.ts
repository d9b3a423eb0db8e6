/** Write marks are recorded once per counter per second, widened to whole seconds, bounded. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WriteMarkCache, type MarkScope } from '../../src/core/counter/write-marks.js';

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
