/**
 * `dgw serve --rollup-timeout-ms` (docs/counters.md "The rollup pipeline"): the bound of one
 * rollup in the pipelines, whole milliseconds from 1 to an hour; no "off" (0), since an
 * unbounded rollup is what lets one hung store call stall a queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRollupTimeoutMs } from '../../src/cli/serve.js';

test('--rollup-timeout-ms: 1 to 3600000 ms pass through; 0 and other values name the flag', () => {
  assert.equal(parseRollupTimeoutMs('1'), 1);
  assert.equal(parseRollupTimeoutMs('10000'), 10_000);
  assert.equal(parseRollupTimeoutMs(' 30000 '), 30_000);
  assert.equal(parseRollupTimeoutMs('3600000'), 3_600_000);
  for (const bad of ['', '0', '-1', '3600001', '2.5', '10s', 'off']) {
    assert.throws(() => parseRollupTimeoutMs(bad), /--rollup-timeout-ms: .* from 1 to 3600000/, JSON.stringify(bad));
  }
});
