/**
 * ResultGroupCommitter: what one flush takes, how many flushes run at once
 * (`maxConcurrentFlushes`), results per item, and a failed shared flush retried per caller.
 * Flushes are held open by hand, so the tests see every interleaving without timing.
 */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { test } from 'node:test';
import { ResultGroupCommitter } from '../../src/core/group-committer.js';

/** A flush the test settles by hand. */
interface HeldFlush {
  items: number[];
  release(): void;
  fail(err: Error): void;
}

function heldCommitter(maxConcurrentFlushes?: number) {
  const flushes: HeldFlush[] = [];
  let running = 0;
  let maxSeen = 0;
  const committer = new ResultGroupCommitter<number, string>({
    maxBatchItems: 100,
    ...(maxConcurrentFlushes === undefined ? {} : { maxConcurrentFlushes }),
    flush: (items) =>
      new Promise<string[]>((resolve, reject) => {
        running++;
        maxSeen = Math.max(maxSeen, running);
        const done = () => running--;
        flushes.push({
          items,
          release: () => {
            done();
            resolve(items.map((i) => `ok ${i}`));
          },
          fail: (err) => {
            done();
            reject(err);
          },
        });
      }),
  });
  return { committer, flushes, maxSeen: () => maxSeen, running: () => running };
}

test('maxConcurrentFlushes must be a positive integer (NaN would start no flush at all)', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new ResultGroupCommitter<number, string>({ maxBatchItems: 10, maxConcurrentFlushes: bad, flush: async (items) => items.map(String) }), RangeError);
  }
});

test('by default one flush runs at a time; what arrives meanwhile shares the next flush', async () => {
  const { committer, flushes, maxSeen } = heldCommitter();
  const first = committer.submit([1]);
  await turn();
  assert.equal(flushes.length, 1);
  const later = [committer.submit([2]), committer.submit([3, 4])];
  await turn();
  assert.equal(flushes.length, 1, 'no second flush while the first runs');
  flushes[0]!.release();
  assert.deepEqual(await first, ['ok 1']);
  await turn();
  assert.equal(flushes.length, 2);
  assert.deepEqual(flushes[1]!.items, [2, 3, 4], 'the waiting submissions share one flush');
  flushes[1]!.release();
  assert.deepEqual(await Promise.all(later), [['ok 2'], ['ok 3', 'ok 4']]);
  assert.equal(maxSeen(), 1);
});

test('maxConcurrentFlushes: up to that many flushes run at once, never more', async () => {
  const { committer, flushes, maxSeen, running } = heldCommitter(3);
  const answers: Promise<string[]>[] = [];
  for (let i = 0; i < 3; i++) {
    answers.push(committer.submit([i]));
    await turn();
  }
  assert.equal(running(), 3, 'each turn started its own flush while fewer than 3 ran');
  answers.push(committer.submit([10]), committer.submit([11]));
  await turn();
  assert.equal(flushes.length, 3, 'the fourth flush waits for a free slot');
  // Settled out of order: each caller still gets its own items' results.
  flushes[1]!.release();
  await turn();
  assert.equal(flushes.length, 4);
  assert.deepEqual(flushes[3]!.items, [10, 11], 'what waited shares the freed slot');
  flushes[2]!.release();
  flushes[0]!.release();
  flushes[3]!.release();
  assert.deepEqual(await Promise.all(answers), [['ok 0'], ['ok 1'], ['ok 2'], ['ok 10'], ['ok 11']]);
  assert.equal(maxSeen(), 3);
  assert.equal(committer.depth, 0);
});

test('a failed shared flush is retried per submission, beside other running flushes', async () => {
  const { committer, flushes } = heldCommitter(2);
  const a = committer.submit([1]);
  await turn();
  const b = committer.submit([2]);
  const bOutcome = b.then(
    () => 'resolved',
    (err: Error) => err.message,
  );
  const c = committer.submit([3]);
  await turn();
  assert.deepEqual(flushes[1]!.items, [2, 3]);
  flushes[1]!.fail(new Error('one bad item'));
  await turn();
  // Retried alone, one after the other: [2] first.
  assert.deepEqual(flushes[2]!.items, [2]);
  flushes[2]!.fail(new Error('item 2 is bad'));
  await turn();
  assert.deepEqual(flushes[3]!.items, [3]);
  flushes[3]!.release();
  flushes[0]!.release();
  assert.deepEqual(await a, ['ok 1']);
  assert.equal(await bOutcome, 'item 2 is bad');
  assert.deepEqual(await c, ['ok 3']);
});
