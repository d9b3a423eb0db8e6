/**
 * The priority admission queue (DESIGN 8) with injected time: the concurrency limit,
 * highest priority first (first come first served within one), wait budgets that shed the
 * lowest priorities first, a full queue that evicts its lowest waiter, cancellation, and
 * the shedder's RESOURCE_EXHAUSTED for a call shed from the queue.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue, AdmissionShed, type AdmissionTimers, type Pending, type Release } from '../../src/server/shedding/admission-queue.js';
import { Shedder, type PendingAdmission } from '../../src/server/shedding/shedder.js';
import { accessOf } from '../../src/server/call-context.js';
import { DgwError } from '../../src/kernel/errors.js';

/** A clock and timers the test advances by hand. */
class ManualTimers implements AdmissionTimers {
  t = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  after(ms: number, fn: () => void): { cancel(): void } {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => void (timer.live = false) };
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = due.at;
      due.live = false;
      due.fn();
    }
    this.t = end;
  }
  get live(): number {
    return this.timers.filter((x) => x.live).length;
  }
}

/** Records the order in which pending calls are admitted or shed. */
function track(log: string[], name: string, p: Pending | PendingAdmission): Promise<Release | undefined> {
  return p.admitted.then(
    (release) => {
      log.push(`${name}:in`);
      return release;
    },
    (err: unknown) => {
      log.push(`${name}:shed(${err instanceof AdmissionShed ? err.why : err instanceof DgwError ? err.code : String(err)})`);
      return undefined;
    },
  );
}

function pending(x: Release | Pending): Pending {
  assert.notEqual(typeof x, 'function', 'the call waits');
  return x as Pending;
}

function now(x: Release | Pending): Release {
  assert.equal(typeof x, 'function', 'the call is admitted at once');
  return x as Release;
}

const flush = () => new Promise((r) => setImmediate(r));

describe('admission queue', () => {
  it('admits up to the limit at once, then queues; a release admits the next', async () => {
    const timers = new ManualTimers();
    const q = new AdmissionQueue({ limit: 2, maxQueue: 10, maxWaitMs: 1000 }, timers);
    const a = now(q.enter(50));
    now(q.enter(50));
    const c = pending(q.enter(50));
    assert.equal(q.inFlight, 2);
    assert.equal(q.waiting, 1);
    const log: string[] = [];
    const admittedC = track(log, 'c', c);
    a();
    a(); // a second release of the same call frees nothing more
    await flush();
    assert.deepEqual(log, ['c:in']);
    assert.equal(q.inFlight, 2);
    assert.equal(q.waiting, 0);
    assert.equal(timers.live, 0, 'the admitted waiter’s timer is cancelled');
    (await admittedC)!();
    assert.equal(q.inFlight, 1);
  });

  it('serves the highest priority first, first come first served within a priority', async () => {
    const timers = new ManualTimers();
    const q = new AdmissionQueue({ limit: 1, maxQueue: 10, maxWaitMs: 10_000 }, timers);
    const running = now(q.enter(50));
    const log: string[] = [];
    const waits = new Map<string, Promise<Release | undefined>>();
    for (const [name, priority] of [['low1', 10], ['high1', 90], ['low2', 10], ['high2', 90], ['mid', 50]] as const) {
      waits.set(name, track(log, name, pending(q.enter(priority))));
    }
    running();
    for (let i = 0; i < 5; i++) {
      await flush();
      const admitted = log[log.length - 1]!.replace(':in', '');
      (await waits.get(admitted)!)!(); // the admitted call ends: the next is admitted
    }
    assert.deepEqual(log, ['high1:in', 'high2:in', 'mid:in', 'low1:in', 'low2:in']);
  });

  it('a free slot does not let a newcomer overtake a waiter of equal or higher priority', () => {
    const timers = new ManualTimers();
    const q = new AdmissionQueue({ limit: 1, maxQueue: 10, maxWaitMs: 10_000 }, timers);
    now(q.enter(50));
    pending(q.enter(80));
    pending(q.enter(80));
    pending(q.enter(20));
  });

  it('sheds a waiter past its priority’s budget: the lowest priorities give up first', async () => {
    const timers = new ManualTimers();
    const q = new AdmissionQueue({ limit: 1, maxQueue: 10, maxWaitMs: 1000 }, timers);
    now(q.enter(50));
    const log: string[] = [];
    const low = track(log, 'p10', pending(q.enter(10))); // budget 100 ms
    const high = track(log, 'p90', pending(q.enter(90))); // budget 900 ms
    timers.advance(99);
    await flush();
    assert.deepEqual(log, []);
    assert.equal(q.oldestWaitMs(), 99);
    timers.advance(1);
    await flush();
    assert.deepEqual(log, ['p10:shed(wait)']);
    assert.equal(await low, undefined);
    timers.advance(800);
    await flush();
    assert.deepEqual(log, ['p10:shed(wait)', 'p90:shed(wait)']);
    assert.equal(await high, undefined);
    assert.equal(q.waiting, 0);
    assert.equal(q.oldestWaitMs(), 0);
  });

  it('a full queue evicts its lowest (newest) waiter for a higher newcomer, else refuses the newcomer', async () => {
    const timers = new ManualTimers();
    const q = new AdmissionQueue({ limit: 1, maxQueue: 2, maxWaitMs: 10_000 }, timers);
    now(q.enter(50));
    const log: string[] = [];
    void track(log, 'a10', pending(q.enter(10)));
    void track(log, 'b10', pending(q.enter(10)));
    assert.throws(() => q.enter(10), (e: unknown) => e instanceof AdmissionShed && e.why === 'queueFull');
    void track(log, 'c90', pending(q.enter(90)));
    await flush();
    assert.deepEqual(log, ['b10:shed(queueFull)']);
    assert.equal(q.waiting, 2);
    assert.equal(timers.live, 2, 'the evicted waiter’s timer is cancelled');
  });

  it('a cancelled waiter leaves the queue and is never admitted', async () => {
    const timers = new ManualTimers();
    const q = new AdmissionQueue({ limit: 1, maxQueue: 10, maxWaitMs: 10_000 }, timers);
    const running = now(q.enter(50));
    const log: string[] = [];
    const gone = pending(q.enter(90));
    void track(log, 'gone', gone);
    const next = track(log, 'next', pending(q.enter(10)));
    gone.cancel();
    gone.cancel();
    assert.equal(q.waiting, 1);
    running();
    await flush();
    assert.deepEqual(log, ['next:in']);
    (await next)!();
    assert.equal(q.inFlight, 0);
    assert.equal(timers.live, 0);
  });
});

describe('shedder admission', () => {
  const call = (operation: string) => ({ operation, access: accessOf(operation), namespace: 'ns', header: () => undefined });
  const signals = { eventLoopDelayMs: () => 0, bufferBytes: () => 0 };

  it('a call shed from the queue is RESOURCE_EXHAUSTED with its priority’s retry advice, and counted', async () => {
    const timers = new ManualTimers();
    const shed: string[] = [];
    const shedder = new Shedder(signals, { admission: { limit: 1, maxQueue: 1, maxWaitMs: 1000 } }, (op, p) => shed.push(`${op}/${p}`), timers);
    const first = shedder.enter(call('AddCount'), 60);
    assert.equal(typeof first, 'function');
    const waiting = shedder.enter(call('GetCount'), 20) as PendingAdmission;
    assert.throws(
      () => shedder.enter(call('GetCount'), 20),
      (e: unknown) => e instanceof DgwError && e.code === 'RESOURCE_EXHAUSTED' && /queue is full/.test(e.message),
    );
    timers.advance(200);
    await assert.rejects(waiting.admitted, (e: unknown) => {
      assert.ok(e instanceof DgwError);
      assert.equal(e.code, 'RESOURCE_EXHAUSTED');
      assert.deepEqual(e.details[0], { reason: 'OVERLOADED', priority: 20, retryAfterSeconds: 5, maxRetries: 1 });
      assert.match(e.message, /waited 200 ms/);
      return true;
    });
    assert.deepEqual(shed, ['GetCount/20', 'GetCount/20']);
  });

  it('the oldest wait is an overload signal on the curve', () => {
    const timers = new ManualTimers();
    const shedder = new Shedder(signals, { admission: { limit: 1, maxQueue: 10, maxWaitMs: 100_000 }, queueWaitMs: { threshold: 100, max: 1100 } }, undefined, timers);
    shedder.enter(call('AddCount'), 60);
    shedder.enter(call('AddCount'), 60);
    timers.advance(600);
    assert.deepEqual(shedder.reading(), { x: 0.5, signal: 'queueWaitMs' });
    assert.throws(() => shedder.check(call('GetCount'), 12), /overloaded/);
    shedder.check(call('GetCount'), 13);
  });
});
