/**
 * The bound of one counter rollup (docs/counters.md, "The rollup pipeline"), shared by the
 * rollup pipelines and the sweeper: rollups started together wait for one deadline on the
 * injected {@link Scheduler}; a rollup still running when it passes is no longer waited
 * for. It is not cancelled (the store contracts take no cancel signal), so its counter is
 * *overdue* until it settles, and whoever waited for it starts no other rollup of it
 * meanwhile: a hung store call holds one pending rollup per counter, not one per attempt.
 */
import { DgwError, isDgwError } from '../../kernel/errors.js';
import type { Scheduler } from './scheduler.js';

/**
 * Default bound of one rollup, in ms. A healthy rollup takes milliseconds; the stores' own
 * limits (PostgreSQL connect 3 s, Redis commands 2 s) fail a call well before this; 10 s is
 * also the default request deadline. Passing it costs only a report (the rollup goes on),
 * so it is set low enough that a hung call delays the other counters of its queue by about
 * one convergence time (accept_limit + skew_margin + coalesce ≈ 7 s).
 */
export const DEFAULT_ROLLUP_TIMEOUT_MS = 10_000;

/** `details[].reason` of the error reported for a rollup that did not finish within its bound. */
export const ROLLUP_TIMEOUT_REASON = 'ROLLUP_TIMEOUT';

/** True when `err` is the report of a rollup that did not finish within `rollupTimeoutMs`. */
export function isRollupTimeout(err: unknown): boolean {
  return isDgwError(err) && err.details.some((d) => d.reason === ROLLUP_TIMEOUT_REASON);
}

/** The report of a rollup of `counter` in `namespace` that did not finish within `timeoutMs`. */
export function rollupTimeoutError(namespace: string, counter: string, timeoutMs: number): DgwError {
  return new DgwError(
    'DEADLINE_EXCEEDED',
    `rollup of counter "${counter}" in "${namespace}" did not finish within ${timeoutMs} ms ` +
      '(a hung store call?); it goes on, and this instance starts no other rollup of the counter until it settles',
    { details: [{ reason: ROLLUP_TIMEOUT_REASON, counter, timeoutMs }] },
  );
}

/** What a rollup raced against its deadline gives when the deadline came first. */
export const TIMED_OUT = Symbol('timed out');

/** The deadline of rollups started together (one batch). */
export interface RollupDeadline {
  /** Resolves with {@link TIMED_OUT} when the deadline passes (never, once cancelled). */
  readonly expired: Promise<typeof TIMED_OUT>;
  /** Drops the timer (every rollup of the batch settled). */
  cancel(): void;
}

/**
 * Starts a deadline `timeoutMs` from now on `scheduler`. `followUp`, when given, is what the
 * timer task returns once it has fired: a scheduler stepping time (ManualScheduler) awaits
 * it, so that the work the expiry lets go on is seen when the step ends.
 */
export function startDeadline(scheduler: Scheduler, timeoutMs: number, followUp?: () => Promise<void> | undefined): RollupDeadline {
  let expire = (): void => undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => (expire = () => resolve(TIMED_OUT)));
  const timer = scheduler.setTimer(timeoutMs, () => {
    expire();
    return followUp?.();
  });
  return { expired, cancel: () => timer.cancel() };
}

/** Keys (counters, as the owner names them) whose rollup passed its deadline and has not settled. */
export class OverdueRollups {
  private readonly keys = new Set<string>();

  /** How many are overdue now. */
  get size(): number {
    return this.keys.size;
  }

  /** Whether a rollup of `key` passed its deadline and has not settled yet. */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  /**
   * What `run` gives, or {@link TIMED_OUT} when `deadline` passes first: then `key` is
   * overdue until `run` settles (fulfilled or rejected), and `onOverdue` is called once
   * then; what it returns is called once `run` settles (the gauge of overdue rollups).
   */
  async race<T>(key: string, run: Promise<T>, deadline: RollupDeadline, onOverdue?: OnOverdue): Promise<T | typeof TIMED_OUT> {
    const verdict = await Promise.race([run, deadline.expired]);
    if (verdict !== TIMED_OUT) return verdict;
    this.keys.add(key);
    const release = onOverdue?.();
    const settled = (): void => {
      this.keys.delete(key);
      release?.();
    };
    void run.then(settled, settled);
    return TIMED_OUT;
  }
}

/**
 * Told that one rollup passed its deadline; returns what to call once that rollup settles.
 * Each call pairs with one settlement, so a tally kept by it counts the rollups running
 * past their bound (overdue-gauge.ts).
 */
export type OnOverdue = () => () => void;
