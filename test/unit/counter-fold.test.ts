import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  addEvent,
  clearEvent,
  decodeCounterEvent,
  foldEvents,
  type CounterMutation,
} from '../../src/core/counter/counter-events.js';

const add = (timeMicros: number, delta: bigint): CounterMutation => ({ kind: 'add', timeMicros, delta });
const clear = (timeMicros: number): CounterMutation => ({ kind: 'clear', timeMicros });

describe('counter events', () => {
  it('round-trips adds (int64 extremes included) and clears through TimeSeries events', () => {
    for (const delta of [0n, -1n, 42n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const e = addEvent('ctr', 10, 'tok', delta);
      assert.equal(e.timeSeriesId, 'ctr');
      assert.equal(e.eventId, 'tok');
      assert.deepEqual(decodeCounterEvent(e), { kind: 'add', timeMicros: 10, delta });
    }
    assert.deepEqual(decodeCounterEvent(clearEvent('ctr', 11, 'x')), { kind: 'clear', timeMicros: 11 });
  });

  it('ignores events that are neither an add nor a clear', () => {
    const bad = (value: string) => ({
      timeSeriesId: 'c',
      eventTimeMicros: 1,
      eventId: 'e',
      items: [{ key: 'd', value: new TextEncoder().encode(value) }],
    });
    assert.equal(decodeCounterEvent(bad('1.5')), undefined);
    assert.equal(decodeCounterEvent(bad('')), undefined);
    assert.equal(decodeCounterEvent({ timeSeriesId: 'c', eventTimeMicros: 1, eventId: 'e', items: [] }), undefined);
  });
});

describe('foldEvents (the rollup rule)', () => {
  it('adds every delta to the base without a clear', () => {
    assert.deepEqual(foldEvents(10n, [add(1, 2n), add(2, -5n), add(3, 0n)]), { count: 7n, applied: 3 });
  });

  it('a clear at T drops every add at or before T and the base', () => {
    const r = foldEvents(100n, [add(1, 2n), clear(5), add(4, 7n), add(6, 3n)]);
    assert.equal(r.count, 3n);
    assert.equal(r.clearedAtMicros, 5);
  });

  it('the latest clear wins; an add after it counts', () => {
    assert.equal(foldEvents(0n, [clear(9), add(10, 1n), clear(3), add(8, 50n)]).count, 1n);
  });

  it('ties go to the clear, whatever the order', () => {
    assert.equal(foldEvents(5n, [add(7, 4n), clear(7)]).count, 0n);
    assert.equal(foldEvents(5n, [clear(7), add(7, 4n)]).count, 0n);
  });

  it('does not depend on event order', () => {
    const events = [add(1, 5n), clear(2), add(3, 4n), add(2, 9n), add(5, -1n), clear(4), add(6, 10n)];
    const expected = foldEvents(0n, events).count;
    assert.equal(expected, 9n);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...events].sort(() => Math.random() - 0.5);
      assert.equal(foldEvents(0n, shuffled).count, expected);
    }
  });
});
