/**
 * Priority admission (DESIGN 8, "admission queue"): at most `limit` calls execute at once;
 * the others wait in a queue served highest priority first (first come first served within
 * a priority). A waiting call is shed when its wait exceeds its priority's budget
 * (`maxWaitMs · priority / 100`, so the lowest priorities give up first), or when the
 * queue is full and it is the lowest priority waiting. A high-priority call therefore waits
 * for one running call to finish, whatever the number of low-priority calls queued.
 *
 * The queue holds only admitted-to-wait calls (bounded by `maxQueue`); each waiter owns one
 * timer. Pure of I/O: time comes from the injected `now`, timers from the injected
 * scheduler, so tests drive it deterministically.
 */

/** The `shedding.admission` settings. */
export interface AdmissionLimits {
  /** Calls executing at once. */
  limit: number;
  /** Calls waiting at most; beyond it the lowest priority waiting is shed. */
  maxQueue: number;
  /** Longest wait, for priority 100; priority p waits at most maxWaitMs · p / 100. */
  maxWaitMs: number;
}

/** Why a waiting call was refused. */
export type AdmissionRefusal = 'wait' | 'queueFull';

/** Ends an admitted call; idempotent. */
export type Release = () => void;

/** A call waiting for a slot. */
interface Waiter {
  priority: number;
  since: number;
  admit: (release: Release) => void;
  refuse: (why: AdmissionRefusal, waitedMs: number) => void;
  timer: { cancel(): void };
  done: boolean;
}

/** Timers, injected so tests control them. */
export interface AdmissionTimers {
  now(): number;
  after(ms: number, fn: () => void): { cancel(): void };
}

/** Real timers (unref'd: a waiting call never keeps the process alive). */
export const REAL_TIMERS: AdmissionTimers = {
  now: () => performance.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** What `enter` hands back when the call must wait. */
export interface Pending {
  /** Resolves with the release once admitted; rejects with the refusal when shed. */
  admitted: Promise<Release>;
  /** Withdraws the call (its client went away); no-op once admitted or shed. */
  cancel(): void;
}

/** The refusal a shed waiter's promise rejects with. */
export class AdmissionShed extends Error {
  constructor(
    readonly why: AdmissionRefusal,
    readonly waitedMs: number,
    readonly priority: number,
  ) {
    super(why === 'wait' ? `waited ${Math.round(waitedMs)} ms for a slot (the budget of priority ${priority})` : `the admission queue is full and priority ${priority} is the lowest waiting`);
  }
}

/** Concurrency limit with a priority queue in front of it. */
export class AdmissionQueue {
  private running = 0;
  private queued = 0;
  /** Waiters by priority (index 1..100), each first come first served. */
  private readonly byPriority: Waiter[][] = Array.from({ length: 101 }, () => []);
  private admittedTotal = 0;
  private queuedTotal = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly timers: AdmissionTimers = REAL_TIMERS,
  ) {}

  /** Calls executing now. */
  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting now. */
  get waiting(): number {
    return this.queued;
  }

  /** Calls admitted since start, and of those how many had to wait. */
  get totals(): { admitted: number; queued: number } {
    return { admitted: this.admittedTotal, queued: this.queuedTotal };
  }

  /** Milliseconds the oldest waiting call has waited (0 with none waiting). */
  oldestWaitMs(): number {
    if (this.queued === 0) return 0;
    let oldest = Infinity;
    for (let p = 1; p <= 100; p++) {
      const first = this.byPriority[p]![0];
      if (first && first.since < oldest) oldest = first.since;
    }
    return oldest === Infinity ? 0 : this.timers.now() - oldest;
  }

  /**
   * Admits a call of `priority` (1-100): a release when a slot is free and nobody of equal
   * or higher priority waits, else a pending admission. Throws {@link AdmissionShed} when
   * the queue is full and nobody waiting has a lower priority.
   */
  enter(priority: number): Release | Pending {
    if (this.running < this.limits.limit && !this.anyoneAtOrAbove(priority)) return this.start();
    if (this.queued >= this.limits.maxQueue) {
      const lowest = this.lowestWaitingPriority();
      if (lowest === undefined || lowest >= priority) throw new AdmissionShed('queueFull', 0, priority);
      this.shedOne(lowest, 'queueFull');
    }
    let admit!: (release: Release) => void;
    let refuse!: (err: AdmissionShed) => void;
    const admitted = new Promise<Release>((resolve, reject) => {
      admit = resolve;
      refuse = reject;
    });
    const waiter: Waiter = {
      priority,
      since: this.timers.now(),
      admit,
      refuse: (why, waitedMs) => refuse(new AdmissionShed(why, waitedMs, priority)),
      timer: { cancel: noop },
      done: false,
    };
    waiter.timer = this.timers.after((this.limits.maxWaitMs * priority) / 100, () => this.expire(waiter));
    this.byPriority[priority]!.push(waiter);
    this.queued++;
    this.queuedTotal++;
    return {
      admitted,
      cancel: () => {
        if (waiter.done) return;
        this.remove(waiter);
        // The promise stays pending for ever: nobody awaits a cancelled call.
      },
    };
  }

  private start(): Release {
    this.running++;
    this.admittedTotal++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.admitNext();
    };
  }

  private admitNext(): void {
    while (this.running < this.limits.limit && this.queued > 0) {
      const waiter = this.popHighest();
      if (!waiter) return;
      waiter.admit(this.start());
    }
  }

  private anyoneAtOrAbove(priority: number): boolean {
    if (this.queued === 0) return false;
    for (let p = 100; p >= priority; p--) if (this.byPriority[p]!.length > 0) return true;
    return false;
  }

  private lowestWaitingPriority(): number | undefined {
    for (let p = 1; p <= 100; p++) if (this.byPriority[p]!.length > 0) return p;
    return undefined;
  }

  private popHighest(): Waiter | undefined {
    for (let p = 100; p >= 1; p--) {
      const w = this.byPriority[p]!.shift();
      if (w) {
        this.settle(w);
        return w;
      }
    }
    return undefined;
  }

  /** Sheds the newest waiter of `priority` (it has waited least). */
  private shedOne(priority: number, why: AdmissionRefusal): void {
    const w = this.byPriority[priority]!.pop();
    if (!w) return;
    this.settle(w);
    w.refuse(why, this.timers.now() - w.since);
  }

  private expire(w: Waiter): void {
    if (w.done) return;
    this.remove(w);
    w.refuse('wait', this.timers.now() - w.since);
  }

  private remove(w: Waiter): void {
    const list = this.byPriority[w.priority]!;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    this.settle(w);
  }

  private settle(w: Waiter): void {
    w.done = true;
    w.timer.cancel();
    this.queued--;
  }
}

function noop(): void {}
