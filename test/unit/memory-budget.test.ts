/**
 * The server memory budget (core/memory-budget.ts) and the write buffers reserving from
 * it: a namespace's own buffer capacity cannot let its queue grow past the budget, a
 * refusal is RESOURCE_EXHAUSTED with a retry hint, and a drained batch gives its bytes back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { WriteBuffers } from '../../src/core/timeseries/write-buffers.js';
import type { TimeSeriesConfig } from '../../src/core/control/types.js';
import type { EventWrite } from '../../src/domain/events.js';
import { DgwError } from '../../src/kernel/errors.js';

const config = {
  kind: 'timeseries',
  name: 'mb',
  primary: { bufferCapacityBytes: 1024 ** 3, coalesceMicros: 60_000_000 },
} as unknown as TimeSeriesConfig;
const write = {} as EventWrite;

describe('memory budget', () => {
  it('reserves up to its limit, refuses past it, and releases once', () => {
    const b = new MemoryBudget(100);
    const a = b.reserve(60, 'a');
    assert.equal(b.usedBytes, 60);
    assert.equal(b.tryReserve(41), undefined);
    assert.throws(
      () => b.reserve(41, 'a request body'),
      (err: unknown) =>
        err instanceof DgwError &&
        err.code === 'RESOURCE_EXHAUSTED' &&
        /a request body needs 41 bytes, 60 of 100/.test(err.message) &&
        err.details[0]?.reason === 'MEMORY_BUDGET' &&
        err.details[0]?.retryAfterSeconds === 1,
    );
    a.release();
    a.release();
    assert.equal(b.usedBytes, 0);
    assert.equal(b.refused, 2);
    assert.equal(b.peakBytes, 60);
  });

  it('bounds a namespace queue whose own capacity is 1 GiB, and frees the bytes after the drain', async () => {
    const budget = new MemoryBudget(1000);
    let committed = 0;
    const buffers = new WriteBuffers({
      commit: async (_c, writes) => {
        committed += writes.length;
      },
      onError: () => assert.fail('no commit fails'),
      budget,
    });
    buffers.enqueue(config, [write], [], 600);
    assert.throws(() => buffers.enqueue(config, [write], [], 600), (err: unknown) => err instanceof DgwError && err.code === 'RESOURCE_EXHAUSTED');
    assert.equal(buffers.depth().bytes, 600, 'the refused batch is not queued');
    assert.equal(budget.usedBytes, 600);
    await buffers.drainAll();
    assert.equal(committed, 1);
    assert.equal(budget.usedBytes, 0);
    buffers.enqueue(config, [write], [], 600);
    await buffers.close();
    assert.equal(budget.usedBytes, 0);
  });
});
