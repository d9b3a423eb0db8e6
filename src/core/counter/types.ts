/**
 * The Counter abstraction as core sees it (DESIGN 4): domain requests with bigint counts,
 * no wire encoding. The HTTP and gRPC servers decode into these and call
 * {@link CounterService}.
 */
import type { CounterConfig } from '../control/types.js';
import type { CounterLogPage, CounterLogQuery, RecountResult } from './audit.js';
import type { CompareCountsQuery, CompareCountsResult } from './compare-counts.js';

/**
 * A client's idempotency token. `(counter_name, generationTimeMicros, token)` identifies
 * one mutation: a retry or hedge with the same token AND the same generation time is
 * never counted twice (EVENTUAL and ACCURATE only).
 */
export interface IdempotencyToken {
  token: string;
  /** When the client generated the mutation; becomes the event time (epoch microseconds). */
  generationTimeMicros: number;
}

/** AddCount / AddAndGetCount. */
export interface AddCountRequest {
  counterName: string;
  /** Any int64, negative and zero included. */
  delta: bigint;
  /** Without a token the call is not retry-safe: a fresh event id is generated. */
  token?: IdempotencyToken;
}

/** ClearCount. */
export interface ClearCountRequest {
  counterName: string;
  token?: IdempotencyToken;
}

/** The Counter abstraction. Every method validates its input (INVALID_ARGUMENT naming the field). */
export interface CounterService {
  /**
   * Adds `delta` to a counter. BEST_EFFORT: increments the cached value (not idempotent,
   * not durable). EVENTUAL / ACCURATE: resolves once the mutation is durably stored as an
   * event; idempotent under the token.
   */
  addCount(config: CounterConfig, request: AddCountRequest): Promise<void>;
  /**
   * Adds, then returns the count including this add: the incremented cache value for
   * BEST_EFFORT, the accurate count (rollup plus live events) for EVENTUAL and ACCURATE.
   */
  addAndGetCount(config: CounterConfig, request: AddCountRequest): Promise<bigint>;
  /**
   * The count. BEST_EFFORT: the cached value. EVENTUAL: the last rollup (possibly seconds
   * stale), and a rollup is triggered. ACCURATE: rollup plus the events since. 0 for a
   * counter never written.
   */
  getCount(config: CounterConfig, counterName: string): Promise<bigint>;
  /**
   * {@link getCount} answered at once when the process holds the count (an EVENTUAL count in
   * the in-process or near cache), with the same checks, rollup trigger and metrics; else
   * `undefined` (nothing done): then call getCount.
   */
  getCountNow(config: CounterConfig, counterName: string): bigint | undefined;
  /** Resets the counter to 0 (for EVENTUAL / ACCURATE: as of the clear's event time). */
  clearCount(config: CounterConfig, request: ClearCountRequest): Promise<void>;
  /**
   * Audit: a page of the counter's adds and clears with their tokens and times, newest
   * first (EVENTUAL and ACCURATE; FAILED_PRECONDITION for BEST_EFFORT, which keeps no log).
   */
  readLog(config: CounterConfig, query: CounterLogQuery): Promise<CounterLogPage>;
  /**
   * Recounts the counter from its event log and compares with its rollup; with `repair`, a
   * wrong rollup is replaced by the recount (EVENTUAL and ACCURATE).
   */
  recount(config: CounterConfig, counterName: string, repair: boolean): Promise<RecountResult>;
  /** CompareCounts (DESIGN 4.6) over the arms' event logs (EVENTUAL and ACCURATE). */
  compare(config: CounterConfig, query: CompareCountsQuery): Promise<CompareCountsResult>;
  /**
   * Stops the rollup pipelines after draining their queues (each queued counter rolled up
   * once) and stops the running sweeps; a hung store holds it about twice the per-rollup
   * bound (`rollupTimeoutMs`) at most.
   */
  shutdown(): Promise<void>;
}

/**
 * What an instance measured of its clock against the shared stores' clocks (issue 15; the
 * server's `ClockOffsetMonitor`). Without it (embedded, tests) every offset is 0.
 */
export interface CounterClockOffsets {
  /**
   * The clock of the store holding the rollups of `rollupStoreKey` minus this instance's
   * clock, in µs, as last measured; 0 for a store without a clock of its own.
   */
  offsetMicros(rollupStoreKey: string): number;
  /**
   * How far the measured offset may be from the true one, µs: half the round trip of the
   * read it came from plus the store clock's resolution. A namespace's skew margin is
   * exceeded only by an offset larger than the margin plus this: with `skew_margin: 0s`,
   * measurement noise alone would otherwise pause its rollups for good. 0 when absent.
   */
  uncertaintyMicros?(rollupStoreKey: string): number;
}

/**
 * The measured offset of the store holding `rollupStoreKey`'s rollups when it is beyond
 * `marginMicros` by more than the measurement can tell; undefined when within.
 */
export function offsetBeyondMargin(offsets: CounterClockOffsets | undefined, rollupStoreKey: string, marginMicros: number): number | undefined {
  if (!offsets) return undefined;
  const offset = offsets.offsetMicros(rollupStoreKey);
  const uncertainty = offsets.uncertaintyMicros?.(rollupStoreKey) ?? 0;
  return Math.abs(offset) - uncertainty > marginMicros ? offset : undefined;
}
