/**
 * The operation chain: what every call of every operation passes through, HTTP and gRPC
 * alike, between the transport (which decodes the bytes and encodes the answer and its
 * status) and the operation's `run`. Temporal-style interceptors: each one gets the call
 * and `next`, and may act before, after, or instead of it.
 *
 * THE SEAM. Cross-cutting concerns plug in here with {@link OperationChain.use}, once, for
 * both transports; the order of `use` calls is the order of the chain (first = outermost).
 * Built in: {@link deadlineInterceptor} (data calls answer within the request deadline,
 * DEADLINE_EXCEEDED past it). What stays at the transport edge, and why:
 * - authentication, load shedding and authorization (server/call-guard.ts): HTTP must
 *   refuse before it reads a body, so its guard runs in Fastify hooks, gRPC's before the
 *   handler; both call the one CallGuard;
 * - request metrics and the status mapping: their labels and codes are the transport's
 *   (HTTP status, gRPC status), from the one DgwError table (kernel/errors.ts).
 * Request logging (per call: operation, namespace, outcome, time) belongs in the chain.
 */
import { DgwError } from '../../kernel/errors.js';
import type { CallInfo, JsonObject, Operation, OperationDeps, OperationResult } from './operation.js';

/** One call as the chain sees it. */
export interface OperationCall {
  readonly operation: Operation;
  readonly input: JsonObject;
  readonly info: CallInfo;
  readonly transport: 'http' | 'grpc';
}

/**
 * A link of the chain: runs around `next` (the rest of the chain and the operation).
 * `passesImmediate`: it has nothing to do for a call answered before `run` would return
 * (the deadline), so {@link OperationChain.runNow} may answer without it; an interceptor
 * without it (a logger, say) makes every call take `run`.
 */
export type Interceptor = ((call: OperationCall, next: () => Promise<OperationResult>) => Promise<OperationResult>) & {
  readonly passesImmediate?: boolean;
};

/** The interceptors in order, ending in the operation's `run`. */
export class OperationChain {
  private readonly interceptors: Interceptor[] = [];
  /** Every interceptor lets an immediate answer through ({@link Interceptor.passesImmediate}). */
  private immediate = true;

  constructor(private readonly deps: OperationDeps) {}

  /** Appends an interceptor (inside the ones added before). */
  use(interceptor: Interceptor): this {
    this.interceptors.push(interceptor);
    this.immediate &&= interceptor.passesImmediate === true;
    return this;
  }

  /**
   * The call's answer at once from its operation's `runNow`, or `undefined` when it has
   * none, cannot answer now, or an interceptor must see the call: then use {@link run}.
   * Throws what `runNow` throws (issue 9: no promise per layer for a cached GetCount).
   */
  runNow(call: OperationCall): OperationResult | undefined {
    const now = call.operation.runNow;
    return now !== undefined && this.immediate ? now.call(call.operation, this.deps, call.input, call.info) : undefined;
  }

  /** Runs one call through every interceptor and the operation. */
  run(call: OperationCall): Promise<OperationResult> {
    const step = (i: number): Promise<OperationResult> => {
      const interceptor = this.interceptors[i];
      if (interceptor === undefined) return call.operation.run(this.deps, call.input, call.info);
      return interceptor(call, () => step(i + 1));
    };
    return step(0);
  }
}

/**
 * Data-plane calls answer within `ms` (DEADLINE_EXCEEDED past it), so a stalled store
 * never hangs a client or a graceful shutdown; control-plane calls are exempt (deleting a
 * namespace drops all its data, which may rightly take longer). One promise per call and
 * one timer for all of them ({@link DeadlineQueue}); the message is built only on expiry;
 * a late answer is dropped.
 */
export function deadlineInterceptor(ms: number): Interceptor {
  const deadlines = new DeadlineQueue(ms);
  // An answer given before the call returns is within any deadline: passesImmediate.
  const interceptor: Interceptor = (call, next) => {
    if (call.operation.plane !== 'data') return next();
    return new Promise((resolve, reject) => {
      // The work goes on: a mutation may still be applied, so the answer says "unknown", not
      // "not done" (issue 14 item 2); a retry with the same token / event ids is safe.
      const pending = deadlines.add(() =>
        reject(
          new DgwError(
            'DEADLINE_EXCEEDED',
            `${call.operation.name}: no answer within ${ms} ms; the outcome is unknown (a write may still be applied): ` +
              'retry with the same idempotency token or event ids',
          ),
        ),
      );
      next().then(
        (value) => {
          deadlines.settle(pending);
          resolve(value);
        },
        (err: unknown) => {
          deadlines.settle(pending);
          reject(err);
        },
      );
    });
  };
  return Object.assign(interceptor, { passesImmediate: true });
}

/** The clock and timer of a {@link DeadlineQueue} (injected in tests). */
export interface DeadlineTimers {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Optional, both or neither: an armed timer no longer keeps the process alive (`unref`),
   * or does again (`ref`). With them the queue keeps its timer when nothing is pending
   * instead of clearing it; without them it clears it.
   */
  unref?(handle: unknown): void;
  ref?(handle: unknown): void;
}

type Timeout = ReturnType<typeof setTimeout>;

const REAL_TIMERS: DeadlineTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as Timeout),
  unref: (handle) => void (handle as Timeout).unref(),
  ref: (handle) => void (handle as Timeout).ref(),
};

/** One call's deadline in a {@link DeadlineQueue}. */
export interface PendingDeadline {
  /** performance.now() at which it expires. */
  at: number;
  /** Undefined once the call answered (or expired). */
  expire: (() => void) | undefined;
}

/**
 * The deadlines of one duration, in the order they were set (so in expiry order): one
 * timer, armed for the oldest unanswered call, instead of a setTimeout and clearTimeout
 * per call (issue 9). Answers mostly come in order, so answered calls are dropped from the
 * front as they answer.
 *
 * Once none is left the timer stops holding the process (an idle server holds no timer
 * that keeps it alive, as with the per-call timers) but, when the timers allow it
 * ({@link DeadlineTimers.unref}), stays armed: the next call takes it back with `ref`
 * instead of a new setTimeout. A busy server's queue empties about once per event-loop
 * turn, and a cleared 10 s timer was a new timer list in Node each time (issue 9: 2.6 % of
 * the server's CPU for GetCount). A kept timer fires at the latest `ms` after it was armed,
 * never later than the deadline of any call added since; firing with nothing pending it
 * is dropped.
 */
export class DeadlineQueue {
  private queue: PendingDeadline[] = [];
  private head = 0;
  private timer: unknown;
  /** The timer is armed but unref'd: nothing is pending. */
  private idle = false;

  constructor(
    private readonly ms: number,
    private readonly timers: DeadlineTimers = REAL_TIMERS,
  ) {}

  /** Calls `expire` once `ms` have passed, unless {@link settle}d before. */
  add(expire: () => void): PendingDeadline {
    const pending: PendingDeadline = { at: this.timers.now() + this.ms, expire };
    this.queue.push(pending);
    if (this.timer === undefined) this.arm(this.ms);
    else if (this.idle) {
      // Armed for an older call's deadline, so no later than this one's.
      this.idle = false;
      this.timers.ref?.(this.timer);
    }
    return pending;
  }

  /** The call answered: its deadline no longer applies. */
  settle(pending: PendingDeadline): void {
    pending.expire = undefined;
    this.dropAnswered();
  }

  private arm(delayMs: number): void {
    this.timer = this.timers.setTimeout(() => this.fire(), Math.max(0, delayMs));
  }

  private fire(): void {
    this.timer = undefined;
    this.idle = false;
    const now = this.timers.now();
    while (this.head < this.queue.length) {
      const pending = this.queue[this.head]!;
      if (pending.expire !== undefined && pending.at > now) break;
      this.head++;
      const expire = pending.expire;
      pending.expire = undefined;
      expire?.();
    }
    this.dropAnswered();
    if (this.head < this.queue.length && this.timer === undefined) this.arm(this.queue[this.head]!.at - now);
  }

  private dropAnswered(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.expire === undefined) this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      if (this.timer !== undefined && !this.idle) {
        if (this.timers.unref !== undefined && this.timers.ref !== undefined) {
          this.idle = true;
          this.timers.unref(this.timer);
        } else {
          this.timers.clearTimeout(this.timer);
          this.timer = undefined;
        }
      }
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
