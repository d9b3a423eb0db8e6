/**
 * `dgw serve --sqlite-reader-threads` (issue 9): `auto` gives one reader thread only when
 * every worker process has more than two cores to itself; numbers pass through; anything
 * else is refused naming the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReaderThreads } from '../../src/cli/serve.js';

test('auto: no reader thread on two cores, one with more than two per worker process', () => {
  assert.equal(parseReaderThreads('auto', 1, 1), 0);
  assert.equal(parseReaderThreads('auto', 1, 2), 0);
  assert.equal(parseReaderThreads('auto', 1, 3), 1);
  assert.equal(parseReaderThreads(' auto ', 1, 16), 1);
  assert.equal(parseReaderThreads('auto', 4, 8), 0);
  assert.equal(parseReaderThreads('auto', 4, 9), 1);
});

test('a number of threads passes through; other values name the flag', () => {
  assert.equal(parseReaderThreads('0', 1, 16), 0);
  assert.equal(parseReaderThreads('2', 1, 2), 2);
  assert.equal(parseReaderThreads('64', 1, 2), 64);
  for (const bad of ['', ' ', '-1', '65', '1.5', 'two', 'AUTO']) {
    assert.throws(() => parseReaderThreads(bad, 1, 4), /--sqlite-reader-threads/, JSON.stringify(bad));
  }
});
