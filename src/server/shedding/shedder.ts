/**
 * Priority load shedding (DESIGN 8). A call's priority (1-100, 100 most important) comes
 * from the `x-dgw-priority` header / gRPC metadata, else the namespace's default, else the
 * operation's default. The overload fraction x is the worst of three signals (event-loop
 * delay, calls in flight, buffered write bytes), each between its threshold and maximum;
 * calls with priority ≤ 100·x³ are refused with RESOURCE_EXHAUSTED (429) carrying
 * `{maxRetries, retryAfterSeconds}`. Probes and /metrics are never shed.
 */
import { z } from 'zod';
import { DgwError, invalidArgument } from '../../kernel/errors.js';
import type { CallContext } from '../call-context.js';
import { decode } from '../wire/decode.js';
import { isShed, retryAdvice, shedCeiling, signalFraction, type SignalLimit } from './curve.js';

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
  signal: 'eventLoopDelayMs' | 'inFlight' | 'bufferBytes' | 'none';
}

/** Decides which calls to shed and counts the calls in flight. */
export class Shedder {
  private readonly config: z.output<typeof sheddingConfigSchema>;
  private readonly hasNamespaceDefaults: boolean;
  private inFlightCount = 0;

  constructor(
    private readonly signals: OverloadSignals,
    config: unknown = {},
    private readonly onShed?: (operation: string, priority: number) => void,
  ) {
    this.config = decode(sheddingConfigSchema, config);
    this.hasNamespaceDefaults = Object.keys(this.config.namespacePriorities).length > 0;
  }

  /** Admitted calls being served now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Marks one admitted call started; call the returned function exactly once when it ends. */
  enter(): () => void {
    this.inFlightCount++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlightCount--;
    };
  }

  /** The current overload fraction, the worst signal winning. */
  reading(): OverloadReading {
    const c = this.config;
    let best: OverloadReading = { x: 0, signal: 'none' };
    const consider = (signal: OverloadReading['signal'], value: number, l: SignalLimit) => {
      const x = signalFraction(value, l);
      if (x > best.x) best = { x, signal };
    };
    consider('inFlight', this.inFlightCount, c.inFlight);
    if (this.inFlightCount >= c.eventLoopDelayMinInFlight) consider('eventLoopDelayMs', this.signals.eventLoopDelayMs(), c.eventLoopDelayMs);
    consider('bufferBytes', this.signals.bufferBytes(), c.bufferBytes);
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
    const advice = retryAdvice(priority);
    throw new DgwError(
      'RESOURCE_EXHAUSTED',
      `server overloaded (${signal} at ${Math.round(x * 100)}% of its range): priority ${priority} shed (priorities up to ${Math.floor(shedCeiling(x))} are); retry after ${advice.retryAfterSeconds} s`,
      { details: [{ reason: 'OVERLOADED', priority, ...advice }] },
    );
  }
}
