/**
 * The server-wide memory budget for what clients make the server hold (issue 14
 * hardening): request bodies in flight and the WriteEventRecords buffers reserve from one
 * budget, so no namespace setting (a 1 GiB `bufferCapacity`) and no flood of near-limit
 * bodies can grow the process past it. A reservation that does not fit is refused with
 * RESOURCE_EXHAUSTED and a retry hint (HTTP 429 with `Retry-After`, gRPC
 * RESOURCE_EXHAUSTED); nothing waits for room, so a full budget never stalls the server.
 * The budget counts estimated bytes (see docs/operations.md "Memory budget" for the
 * estimates and the fixed overhead outside it).
 */
import { DgwError } from '../kernel/errors.js';

/** Seconds a client refused for memory is told to wait. */
export const MEMORY_RETRY_AFTER_SECONDS = 1;

/** A reservation: call `release` exactly once when the memory is let go (later calls do nothing). */
export interface MemoryReservation {
  readonly bytes: number;
  release(): void;
}

/** Bytes reserved against a fixed limit. */
export class MemoryBudget {
  private used = 0;
  private peak = 0;
  private refusedCount = 0;

  /** @param limitBytes the most bytes reserved at once (a positive integer). */
  constructor(readonly limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 1) throw new Error(`memory budget: ${String(limitBytes)} is not a positive number of bytes`);
  }

  /** Bytes reserved now. */
  get usedBytes(): number {
    return this.used;
  }

  /** Most bytes ever reserved at once. */
  get peakBytes(): number {
    return this.peak;
  }

  /** Reservations refused so far. */
  get refused(): number {
    return this.refusedCount;
  }

  /** Reserves `bytes`, or returns undefined when they do not fit. */
  tryReserve(bytes: number): MemoryReservation | undefined {
    const n = Math.max(0, Math.ceil(bytes));
    if (this.used + n > this.limitBytes) {
      this.refusedCount++;
      return undefined;
    }
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    let released = false;
    return {
      bytes: n,
      release: () => {
        if (released) return;
        released = true;
        this.used -= n;
      },
    };
  }

  /**
   * Reserves `bytes` for `what` (e.g. "request body"), or throws RESOURCE_EXHAUSTED with
   * `{reason: 'MEMORY_BUDGET', retryAfterSeconds}` (sent as `Retry-After`).
   */
  reserve(bytes: number, what: string): MemoryReservation {
    const r = this.tryReserve(bytes);
    if (r) return r;
    throw new DgwError(
      'RESOURCE_EXHAUSTED',
      `server memory budget exhausted: ${what} needs ${Math.ceil(bytes)} bytes, ${this.used} of ${this.limitBytes} are reserved by bodies in flight and write buffers; retry after ${MEMORY_RETRY_AFTER_SECONDS} s`,
      { details: [{ reason: 'MEMORY_BUDGET', retryAfterSeconds: MEMORY_RETRY_AFTER_SECONDS, maxRetries: 3 }] },
    );
  }
}
