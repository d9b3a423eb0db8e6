/**
 * `dgw serve` flags of whole milliseconds: each range passes through, anything else is
 * refused naming the flag.
 * - `--near-cache-ms` (issue 9, docs/counters.md "The near cache"): 0 (off) to 60,000.
 * - `--rollup-timeout-ms` (docs/counters.md "The rollup pipeline"): 1 to an hour; no "off"
 *   (0), since an unbounded rollup is what lets one hung store call stall a queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNearCacheMs, parseRollupTimeoutMs } from '../../src/cli/serve.js';

const FLAGS = [
  {
    flag: '--near-cache-ms',
    parse: parseNearCacheMs,
    good: [['0', 0], ['100', 100], [' 250 ', 250], ['60000', 60_000]],
    bad: ['', ' ', '-1', '60001', '1.5', '100ms', 'off'],
    range: /from 0 to 60000/,
  },
  {
    flag: '--rollup-timeout-ms',
    parse: parseRollupTimeoutMs,
    good: [['1', 1], ['10000', 10_000], [' 30000 ', 30_000], ['3600000', 3_600_000]],
    bad: ['', '0', '-1', '3600001', '2.5', '10s', 'off'],
    range: /from 1 to 3600000/,
  },
] as const;

for (const { flag, parse, good, bad, range } of FLAGS) {
  test(`${flag}: values in range pass through; other values name the flag`, () => {
    for (const [text, ms] of good) assert.equal(parse(text), ms, JSON.stringify(text));
    for (const text of bad) {
      assert.throws(() => parse(text), (err: Error) => err.message.startsWith(`${flag}: `) && range.test(err.message), JSON.stringify(text));
    }
  });
}
