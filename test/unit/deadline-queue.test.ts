/**
 * DeadlineQueue (src/server/operations/chain.ts): the request deadlines of the operation
 * chain with one timer instead of one per call. Every unanswered call expires once its
 * time is reached, in order; answered calls never do; the timer is gone once nothing is
 * pending (an idle server holds no timer, as with a timer per call).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineQueue, type DeadlineTimers } from '../../src/server/operations/chain.js';

class FakeTimers implements DeadlineTimers {
  t = 0;
  private next = 1;
  readonly armed = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.armed.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.armed.delete(handle as number);
  }
  /** Moves time on, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.armed.entries()].filter(([, a]) => a.at <= end).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      this.armed.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

test('unanswered calls expire at their own deadline, in order; answered ones never', () => {
  const timers = new FakeTimers();
  const q = new DeadlineQueue(100, timers);
  const expired: string[] = [];
  const a = q.add(() => expired.push('a'));
  timers.advance(30);
  const b = q.add(() => expired.push('b'));
  timers.advance(30);
  q.add(() => expired.push('c'));
  q.settle(a); // the oldest answers: the timer still covers b and c
  timers.advance(39); // t = 99
  assert.deepEqual(expired, []);
  timers.advance(31); // t = 130: b's deadline passed
  assert.deepEqual(expired, ['b']);
  q.settle(b); // an answer after expiry changes nothing
  timers.advance(29); // t = 159
  assert.deepEqual(expired, ['b']);
  timers.advance(1); // t = 160: c
  assert.deepEqual(expired, ['b', 'c']);
  assert.equal(timers.armed.size, 0, 'nothing pending: no timer');
});

test('the timer is cleared when the last pending call answers, and armed again by the next', () => {
  const timers = new FakeTimers();
  const q = new DeadlineQueue(1000, timers);
  let expired = 0;
  for (let i = 0; i < 5000; i++) {
    const p = q.add(() => expired++);
    assert.equal(timers.armed.size, 1);
    timers.advance(1);
    q.settle(p);
    assert.equal(timers.armed.size, 0, `call ${i}: no timer left behind`);
  }
  // Out of order answers with many in flight: only the unanswered one expires.
  const pending = Array.from({ length: 3000 }, (_, i) => q.add(() => (expired += i === 1500 ? 1 : 1000)));
  pending.forEach((p, i) => {
    if (i !== 1500) q.settle(p);
  });
  timers.advance(999);
  assert.equal(expired, 0);
  timers.advance(1);
  assert.equal(expired, 1);
  assert.equal(timers.armed.size, 0);
});

/** Timers that can be unref'd, as Node's: the queue then keeps its timer while idle. */
class RefTimers extends FakeTimers {
  readonly unrefd = new Set<unknown>();
  setCalls = 0;
  override setTimeout(fn: () => void, ms: number): unknown {
    this.setCalls++;
    return super.setTimeout(fn, ms);
  }
  override clearTimeout(handle: unknown): void {
    this.unrefd.delete(handle);
    super.clearTimeout(handle);
  }
  unref(handle: unknown): void {
    this.unrefd.add(handle);
  }
  ref(handle: unknown): void {
    this.unrefd.delete(handle);
  }
  /** Armed timers that keep the process alive. */
  get holding(): number {
    return [...this.armed.keys()].filter((id) => !this.unrefd.has(id)).length;
  }
}

test('with unref: an idle queue keeps its timer without holding the process, the next call takes it back', () => {
  const timers = new RefTimers();
  const q = new DeadlineQueue(1000, timers);
  let expired = 0;
  for (let i = 0; i < 5000; i++) {
    const p = q.add(() => expired++);
    assert.equal(timers.holding, 1, `call ${i}: its deadline is armed`);
    timers.advance(1);
    q.settle(p);
    assert.equal(timers.holding, 0, `call ${i}: nothing pending holds the process`);
  }
  // One setTimeout per `ms` of traffic, not one per idle gap.
  assert.ok(timers.setCalls <= 6, `${timers.setCalls} timers armed`);
  assert.equal(expired, 0);
  // A call added to an idle queue whose kept timer fires before its deadline still expires on time.
  timers.advance(500);
  const late: number[] = [];
  q.add(() => late.push(timers.now()));
  timers.advance(999);
  assert.deepEqual(late, []);
  timers.advance(1);
  assert.equal(late.length, 1);
  assert.ok(late[0]! >= 6499 && late[0]! <= 6501, `expired at ${late[0]}`);
  // Idle, the kept timer fires once more at most and is then gone.
  timers.advance(2000);
  assert.equal(timers.armed.size, 0, 'an idle queue ends with no timer at all');
});
