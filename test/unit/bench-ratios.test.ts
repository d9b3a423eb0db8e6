/**
 * The bench's dgw ÷ baseline table (src/bench/report.ts formatRatios): the ratios, and the
 * mark on a side whose client processes ran at CLIENT_BOUND_PCT of a core or more each, so
 * a reader sees when a ratio compares the clients (BENCHMARKS.md, issue 9's seventeenth
 * pass).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_BOUND_PCT, formatRatios, type ScenarioResult } from '../../src/bench/report.js';

function row(id: string, opsPerSec: number, clientCpuPct: number | undefined, compareWith?: string[]): ScenarioResult {
  return {
    id,
    title: id,
    backend: 'x',
    status: 'ok',
    opsPerSec,
    p99Ms: 2,
    serverCpuMicrosPerOp: 10,
    ...(clientCpuPct !== undefined ? { clientCpuPct } : {}),
    ...(compareWith ? { compareWith } : {}),
  };
}

describe('bench ratios', () => {
  it('divides dgw by its baselines and marks the sides bound by their clients', () => {
    const { text, pairs } = formatRatios([
      row('dgw.get', 20_000, 80, ['redis.get', 'floor.http']),
      row('redis.get', 40_000, 99),
      row('floor.http', 25_000, CLIENT_BOUND_PCT - 1),
    ]);
    assert.deepEqual(
      pairs.map((p) => [p.baseline, p.throughput, p.clientBound]),
      [
        ['redis.get', 0.5, ['baseline']],
        ['floor.http', 0.8, undefined],
      ],
    );
    assert.match(text, /dgw\.get ÷ redis\.get +0\.50× +1\.00× +1\.00× +80 \/ 99\*/);
    assert.match(text, /dgw\.get ÷ floor\.http +0\.80× .* 80 \/ 94 /);
    assert.match(text, /\* client processes at 95 % of a core or more each/);
  });

  it('judges the share per client process, and says nothing when no side is bound', () => {
    const results = [row('dgw.add', 10_000, 150, ['redis.incrby']), row('redis.incrby', 50_000, 180)];
    assert.deepEqual(formatRatios(results, 1).pairs[0]?.clientBound, ['dgw', 'baseline']);
    const two = formatRatios(results, 2);
    assert.equal(two.pairs[0]?.clientBound, undefined);
    assert.doesNotMatch(two.text, /client processes at/);
    assert.match(two.text, /150 \/ 180 /);
  });

  it('leaves a pair whose baseline did not run out of the ratios', () => {
    const { text, pairs } = formatRatios([row('dgw.get', 20_000, 99, ['redis.get'])]);
    assert.deepEqual(pairs, []);
    assert.match(text, /dgw\.get ÷ redis\.get +skipped +baseline not run/);
  });
});
