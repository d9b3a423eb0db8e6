/**
 * Priority load shedding (DESIGN 8). A call's priority (1-100, 100 most important) comes
 * from the `x-dgw-priority` header / gRPC metadata, else the namespace's default, else the
 * operation's default. The overload fraction x is the worst of three signals (event-loop
 * delay, calls in flight, buffered write bytes, the oldest admission wait), each between
 * its threshold and maximum; calls with priority ≤ 100·x³ are refused with
 * RESOURCE_EXHAUSTED (429) carrying `{maxRetries, retryAfterSeconds}`. Calls that pass
 * then go through the priority admission queue (admission-queue.ts), which sheds a
 * waiting call past its priority's wait budget. Probes and /metrics are never shed.
 */
import { z } from 'zod';
import { DgwError, invalidArgument } from '../../kernel/errors.js';
import type { CallContext } from '../call-context.js';
import { decode } from '../wire/decode.js';
import { isShed, retryAdvice, shedCeiling, signalFraction, type SignalLimit } from './curve.js';
import { AdmissionQueue, AdmissionShed, type AdmissionTimers, type Pending, type Release } from './admission-queue.js';

/** The header (HTTP) and metadata key (gRPC) carrying a call's priority. */
export const PRIORITY_HEADER = 'x-dgw-priority';

const priority = z.number().int().min(1).max(100);
const limit = z
  .object({ threshold: z.number().min(0), max: z.number().positive() })
  .refine((l) => l.max > l.threshold, 'max must be above threshold');

/** The `shedding` section of the server config file. */
export const sheddingConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Milliseconds of event-loop delay. */
  eventLoopDelayMs: limit.default({ threshold: 200, max: 2000 }),
  /**
   * Event-loop delay counts only with at least this many calls in flight: with a few
   * calls, the delay comes from each call's own synchronous work (a large SQLite batch)
   * or from outside the process, and refusing calls would not reduce it.
   */
  eventLoopDelayMinInFlight: z.number().int().min(0).default(8),
  /** Admitted calls being served (HTTP and gRPC together). */
  inFlight: limit.default({ threshold: 256, max: 2048 }),
  /** Bytes queued in WriteEventRecords buffers. */
  bufferBytes: limit.default({ threshold: 256 * 1024 * 1024, max: 1024 * 1024 * 1024 }),
  /**
   * Priority admission: at most `limit` calls execute at once, the rest wait highest
   * priority first; priority p waits at most `maxWaitMs · p / 100`, then is shed.
   */
  admission: z
    .strictObject({
      limit: z.number().int().min(1).default(256),
      maxQueue: z.number().int().min(0).default(2048),
      maxWaitMs: z.number().positive().default(2000),
    })
    .default({ limit: 256, maxQueue: 2048, maxWaitMs: 2000 }),
  /** Milliseconds the oldest call has waited for admission. */
  queueWaitMs: limit.default({ threshold: 500, max: 5000 }),
  /** Default priority per operation name (overrides the built-in defaults). */
  operationPriorities: z.record(z.string(), priority).default({}),
  /** Default priority per namespace (over the operation's default, under the header). */
  namespacePriorities: z.record(z.string(), priority).default({}),
});

/** The `shedding` section as written in the config file. */
export type SheddingConfig = z.input<typeof sheddingConfigSchema>;

/**
 * Built-in defaults: synchronous writes and point reads above scans; Search and Aggregate
 * (expensive, usually analytical) shed first; the control plane last.
 */
export const DEFAULT_OPERATION_PRIORITIES: Readonly<Record<string, number>> = {
  WriteEventRecordsSync: 60,
  WriteEventRecords: 50,
  ReadEventRecords: 50,
  SearchEventRecords: 30,
  AggregateEventRecords: 30,
  AddCount: 60,
  AddAndGetCount: 60,
  ClearCount: 60,
  GetCount: 50,
  // Audit and analysis: they scan whole event logs, so they go first under overload.
  ReadCounterLog: 30,
  RecountCount: 30,
  CompareCounts: 30,
  PutNamespace: 90,
  GetNamespace: 90,
  ListNamespaces: 90,
  DeleteNamespace: 90,
};

/** Where the overload signals are read; injected in tests. */
export interface OverloadSignals {
  eventLoopDelayMs(): number;
  bufferBytes(): number;
}

/** The overload fraction and the signal that set it. */
export interface OverloadReading {
  x: number;
  signal: 'eventLoopDelayMs' | 'inFlight' | 'bufferBytes' | 'queueWaitMs' | 'none';
}

/** Decides which calls to shed and counts the calls in flight. */
export class Shedder {
  private readonly config: z.output<typeof sheddingConfigSchema>;
  private readonly hasNamespaceDefaults: boolean;
  /** The priority admission queue; it also counts the calls in flight. */
  readonly admission: AdmissionQueue;

  constructor(
    private readonly signals: OverloadSignals,
    config: unknown = {},
    private readonly onShed?: (operation: string, priority: number) => void,
    timers?: AdmissionTimers,
  ) {
    this.config = decode(sheddingConfigSchema, config);
    this.hasNamespaceDefaults = Object.keys(this.config.namespacePriorities).length > 0;
    this.admission = new AdmissionQueue(this.config.admission, timers);
  }

  /** Admitted calls being served now. */
  get inFlight(): number {
    return this.admission.inFlight;
  }

  /**
   * Admits a call of `priority` that passed {@link check}: a release (call it once when the
   * call ends) when a slot is free, else a pending admission that resolves with the release
   * or rejects with RESOURCE_EXHAUSTED when the call is shed from the queue.
   */
  enter(call: CallContext, priority: number): Release | PendingAdmission {
    let entered: Release | Pending;
    try {
      entered = this.admission.enter(priority);
    } catch (err) {
      throw this.refusal(call, err);
    }
    if (typeof entered === 'function') return entered;
    return {
      admitted: entered.admitted.catch((err: unknown) => {
        throw this.refusal(call, err);
      }),
      cancel: entered.cancel,
    };
  }

  private refusal(call: CallContext, err: unknown): unknown {
    if (!(err instanceof AdmissionShed)) return err;
    this.onShed?.(call.operation, err.priority);
    return overloaded(err.priority, `server overloaded: ${err.message}`);
  }

  /** The current overload fraction, the worst signal winning. */
  reading(): OverloadReading {
    const c = this.config;
    let best: OverloadReading = { x: 0, signal: 'none' };
    const consider = (signal: OverloadReading['signal'], value: number, l: SignalLimit) => {
      const x = signalFraction(value, l);
      if (x > best.x) best = { x, signal };
    };
    const inFlight = this.admission.inFlight;
    consider('inFlight', inFlight, c.inFlight);
    if (inFlight >= c.eventLoopDelayMinInFlight) consider('eventLoopDelayMs', this.signals.eventLoopDelayMs(), c.eventLoopDelayMs);
    consider('bufferBytes', this.signals.bufferBytes(), c.bufferBytes);
    consider('queueWaitMs', this.admission.oldestWaitMs(), c.queueWaitMs);
    return best;
  }

  /**
   * The call's priority; undefined when it depends on a namespace not known yet (the
   * header is absent, namespace defaults exist, and `call.namespace` is undefined).
   * Throws INVALID_ARGUMENT for a malformed header.
   */
  priorityOf(call: CallContext): number | undefined {
    const header = call.header(PRIORITY_HEADER);
    if (header !== undefined) {
      const p = Number(header);
      if (!/^\s*\d{1,3}\s*$/.test(header) || p < 1 || p > 100) throw invalidArgument(PRIORITY_HEADER, `"${header}" is not an integer from 1 to 100`);
      return p;
    }
    const byNamespace = this.config.namespacePriorities;
    if (call.namespace !== undefined) {
      const p = byNamespace[call.namespace];
      if (p !== undefined) return p;
    } else if ((call.access === 'read' || call.access === 'write') && this.hasNamespaceDefaults) {
      return undefined;
    }
    return this.config.operationPriorities[call.operation] ?? DEFAULT_OPERATION_PRIORITIES[call.operation] ?? 50;
  }

  /** Throws RESOURCE_EXHAUSTED when a call of `priority` is shed now. Probes are never shed. */
  check(call: CallContext, priority: number): void {
    if (!this.config.enabled || call.access === 'open' || call.access === 'metrics') return;
    const { x, signal } = this.reading();
    if (!isShed(priority, x)) return;
    this.onShed?.(call.operation, priority);
    throw overloaded(priority, `server overloaded (${signal} at ${Math.round(x * 100)}% of its range): priority ${priority} shed (priorities up to ${Math.floor(shedCeiling(x))} are)`);
  }
}

/** A call waiting in the admission queue (see {@link Shedder.enter}). */
export interface PendingAdmission {
  admitted: Promise<Release>;
  /** Withdraws the call (its client went away). */
  cancel(): void;
}

/** RESOURCE_EXHAUSTED with the retry advice of `priority`. */
function overloaded(priority: number, why: string): DgwError {
  const advice = retryAdvice(priority);
  return new DgwError('RESOURCE_EXHAUSTED', `${why}; retry after ${advice.retryAfterSeconds} s`, {
    details: [{ reason: 'OVERLOADED', priority, ...advice }],
  });
}
