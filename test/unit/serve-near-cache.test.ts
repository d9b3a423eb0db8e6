/**
 * `dgw serve --near-cache-ms` (issue 9, docs/counters.md "The near cache"): whole
 * milliseconds from 0 (off) to 60,000 pass through; anything else is refused naming the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNearCacheMs } from '../../src/cli/serve.js';

test('--near-cache-ms: 0 to 60000 ms pass through; other values name the flag', () => {
  assert.equal(parseNearCacheMs('0'), 0);
  assert.equal(parseNearCacheMs('100'), 100);
  assert.equal(parseNearCacheMs(' 250 '), 250);
  assert.equal(parseNearCacheMs('60000'), 60_000);
  for (const bad of ['', ' ', '-1', '60001', '1.5', '100ms', 'off']) {
    assert.throws(() => parseNearCacheMs(bad), /--near-cache-ms: .* from 0 to 60000/, JSON.stringify(bad));
  }
});
