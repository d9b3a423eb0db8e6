/**
 * Injected timers for the rollup pipeline. Production uses {@link createRealScheduler}
 * (setTimeout and a monotonic clock); tests use {@link ManualScheduler}, which runs timers
 * only when told to and moves a ManualClock with them, so coalesce windows and
 * back-pressure waits are tested without sleeping.
 */
import { MICROS_PER_MS, type ManualClock } from '../../kernel/clock.js';

/** A scheduled timer, to cancel it. */
export interface TimerHandle {
  cancel(): void;
}

/** Timer work; a returned promise is awaited by schedulers that step time (tests). */
export type TimerTask = () => void | Promise<void>;

/** Source of time and timers for background work. */
export interface Scheduler {
  /** Monotonic milliseconds (only differences are meaningful). */
  nowMs(): number;
  /** Runs `task` once after `delayMs` (>= 0). Errors of the task are the task's business. */
  setTimer(delayMs: number, task: TimerTask): TimerHandle;
}

/** The real scheduler: `setTimeout` (unref'd, so it never keeps a process alive) and `performance.now()`. */
export function createRealScheduler(): Scheduler {
  return {
    nowMs: () => performance.now(),
    setTimer(delayMs, task) {
      const timer = setTimeout(() => {
        void Promise.resolve()
          .then(task)
          .catch(() => undefined);
      }, Math.max(0, delayMs));
      timer.unref();
      return { cancel: () => clearTimeout(timer) };
    },
  };
}

interface ManualTimer {
  dueMicros: number;
  seq: number;
  task: TimerTask;
  cancelled: boolean;
}

/**
 * A scheduler driven by a ManualClock. Timers fire only inside {@link advance} or
 * {@link runDue}; timers due at the same instant run concurrently (so two pipelines sharing
 * one scheduler really interleave), and their returned promises are awaited before time
 * moves on. Work that waits on a later timer (a rollup's deadline) holds its `advance` until
 * another `advance`, called meanwhile, fires that timer.
 */
export class ManualScheduler implements Scheduler {
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(readonly clock: ManualClock) {}

  nowMs(): number {
    return this.clock.nowMicros() / MICROS_PER_MS;
  }

  setTimer(delayMs: number, task: TimerTask): TimerHandle {
    const timer: ManualTimer = {
      dueMicros: this.clock.nowMicros() + Math.max(0, Math.round(delayMs * MICROS_PER_MS)),
      seq: this.seq++,
      task,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Delays (ms from now) of the timers waiting to fire, soonest first. */
  pendingDelaysMs(): number[] {
    const now = this.clock.nowMicros();
    return this.timers
      .filter((t) => !t.cancelled)
      .map((t) => (t.dueMicros - now) / MICROS_PER_MS)
      .sort((a, b) => a - b);
  }

  /**
   * Moves the clock forward by `ms`, stopping at each timer due on the way: the clock is set
   * to the timer's due time, every timer due then runs, and their work is awaited. Timers
   * scheduled by that work fire too if they fall within the step.
   */
  async advance(ms: number): Promise<void> {
    const target = this.clock.nowMicros() + Math.round(ms * MICROS_PER_MS);
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due > target) break;
      if (due > this.clock.nowMicros()) this.clock.set(due);
      await this.fire(due);
    }
    if (target > this.clock.nowMicros()) this.clock.set(target);
  }

  /** Runs the timers already due (at or before now), without moving the clock. */
  async runDue(): Promise<void> {
    await this.advance(0);
  }

  private nextDue(): number | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let min: number | undefined;
    for (const t of this.timers) if (min === undefined || t.dueMicros < min) min = t.dueMicros;
    return min;
  }

  private async fire(upTo: number): Promise<void> {
    const ready = this.timers.filter((t) => t.dueMicros <= upTo).sort((a, b) => a.seq - b.seq);
    this.timers = this.timers.filter((t) => t.dueMicros > upTo);
    await Promise.all(
      ready.map(async (t) => {
        if (!t.cancelled) await t.task();
      }),
    );
  }
}
