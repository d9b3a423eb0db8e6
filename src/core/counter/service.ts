/**
 * The Counter abstraction (DESIGN 4): {@link CounterServiceEngine} (made by
 * {@link createCounterService}) wires best-effort counters, the event write path of
 * EVENTUAL / ACCURATE counters, rollups, the rollup pipelines and metrics behind
 * {@link CounterService}.
 */
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { ResultGroupCommitter } from '../group-committer.js';
import type { Clock } from '../../kernel/clock.js';
import type { CounterConfig } from '../control/types.js';
import { DgwError, isDgwError } from '../../kernel/errors.js';
import { CounterCell, HistogramCell } from '../../kernel/metric-cells.js';
import type { TimeSeriesEngine } from '../timeseries/service.js';
import type { CounterWriteMark } from '../../domain/counters.js';
import type { RollupBus, StoresByKey } from '../../storage/contracts.js';
import type { EventRecord } from '../../domain/events.js';
import { readCounterLog, recountCounter, type CounterLogPage, type CounterLogQuery, type RecountResult } from './audit.js';
import { BestEffortCounters } from './best-effort.js';
import { compareCounts, type CompareCountsQuery, type CompareCountsResult } from './compare-counts.js';
import { DurableRollups } from './durable-rollups.js';
import { addEvent, clearEvent } from './counter-events.js';
import { createCounterMetrics, type CounterMetrics, type CounterOperation } from './metrics.js';
import { OverdueGauge } from './overdue-gauge.js';
import { PipelinesByNamespace, type PipelineOptions } from './pipelines-by-namespace.js';
import { DEFAULT_ROLLUP_TIMEOUT_MS } from './rollup-bound.js';
import { CounterRollups } from './rollup.js';
import { createRealScheduler, type Scheduler } from './scheduler.js';
import { Sweeper, type SweepResult } from './sweeper.js';
import { offsetBeyondMargin, type AddCountRequest, type ClearCountRequest, type CounterClockOffsets, type CounterService, type IdempotencyToken } from './types.js';
import { validateAdd, validateClear, validateCounterName } from './validate.js';
import { WRITE_HOLD_MICROS, WriteMarks } from './write-marks.js';

/** Options of {@link createCounterService}. */
export interface CounterServiceOptions {
  clock: Clock;
  catalog: StoresByKey;
  /** The TimeSeries engine holding each counter namespace's events (`config.events`). */
  timeseries: TimeSeriesEngine;
  /** Prometheus registry for the counter metrics; a private one when absent. */
  registry?: Registry;
  /** Rollup pipeline tuning (scheduler, back-pressure, the per-rollup bound); the sweeper uses its scheduler and bound too. */
  pipeline?: PipelineOptions;
  /** Most write marks in one rollup-store commit (default 5000). */
  maxMarksPerCommit?: number;
  /** This instance's measured clock offsets against the shared stores (issue 15); all 0 when absent. */
  clockOffsets?: CounterClockOffsets;
}

/** The service plus what tests and the server inspect. */
export interface CounterEngine extends CounterService {
  /** Rolls one counter up now, outside the pipeline (admin and tests). */
  rollupNow(config: CounterConfig, counterName: string): Promise<void>;
  /**
   * The sweeper (DESIGN 4.5): rolls up now every counter of the namespace whose write mark
   * is past its checkpoint, whether or not a queue holds it (after a crash, a dropped
   * rollup event). Resolves once each was rolled up once, failed (`failed`) or was not
   * rolled up within the pipelines' `rollupTimeoutMs` (`timedOut`: a hung store call; no
   * second rollup of it starts until the first settles); those are retried by the next
   * sweep. Rejects (UNAVAILABLE) once {@link CounterService.shutdown} has begun, which waits
   * for a running sweep about `rollupTimeoutMs` at most. The server runs it before each
   * lifecycle pass, so no slice is dropped before the increments in it were rolled up.
   */
  sweep(config: CounterConfig): Promise<SweepResult>;
  /**
   * Deletes what a counter namespace holds: its events (EVENTUAL, ACCURATE), its rollup
   * rows and its cached checkpoints. The control plane calls it when the namespace is deleted.
   */
  dropNamespace(config: CounterConfig): Promise<void>;
  /** One lifecycle pass: sweep lagging counters, then the events namespace's slices (ahead of need, close, drop). */
  runLifecycle(config: CounterConfig): Promise<void>;
  /**
   * Routes rollup events through a shared durable bus (durable-rollups.ts) and starts
   * consuming it; `resolve` gives a namespace's configuration (undefined once deleted).
   * Without it, the in-process pipelines take every event (the embedded default).
   */
  useRollupBus(bus: RollupBus, resolve: (namespace: string) => Promise<CounterConfig | undefined>): void;
  /** The per-namespace rollup pipelines of this instance. */
  readonly pipelines: PipelinesByNamespace;
  readonly metrics: CounterMetrics;
}

/** What one sweep did (sweeper.ts). */
export type { SweepResult };

/** See write-marks.ts (kept there so that durable-rollups.ts can use it without a cycle). */
export { WRITE_HOLD_MICROS };

/** The operation metrics' series of one counter type and operation. */
interface OperationSeries {
  base: { counter_type: string; operation: string };
  ok: CounterCell<'counter_type' | 'operation' | 'outcome'>;
  seconds: HistogramCell<'counter_type' | 'operation'>;
}

/** Creates the Counter abstraction of one dgw instance. */
export function createCounterService(options: CounterServiceOptions): CounterEngine {
  return new CounterServiceEngine(options);
}

/**
 * The Counter abstraction of one dgw instance ({@link CounterEngine}): best-effort counters,
 * the event write path of EVENTUAL / ACCURATE counters, rollups and their pipelines.
 */
export class CounterServiceEngine implements CounterEngine {
  readonly pipelines: PipelinesByNamespace;
  readonly metrics: CounterMetrics;
  private readonly clock: Clock;
  private readonly catalog: StoresByKey;
  private readonly timeseries: TimeSeriesEngine;
  private readonly bestEffort: BestEffortCounters;
  private readonly rollups: CounterRollups;
  /** Write marks: group committed per rollup store, remembered per namespace incarnation (write-marks.ts). */
  private readonly writeMarks: WriteMarks;
  private readonly sweeper: Sweeper;
  /** Times the rollups' bound (pipelines, sweeper, durable bus). */
  private readonly scheduler: Scheduler;
  /** Rollups past their bound and not settled, per namespace (dgw_counters_rollups_overdue). */
  private readonly overdue: OverdueGauge;
  /** The bound of one rollup, ms (pipelines, sweeper, durable bus). */
  private readonly rollupTimeoutMs: number;
  private readonly pipelineOptions: PipelineOptions;
  /** Metric series per operation and counter type, built once (not per call; kernel/metric-cells.ts). */
  private readonly operationSeries = new Map<CounterOperation, Map<CounterConfig['counterType'], OperationSeries>>();
  private readonly clockOffsets: CounterClockOffsets | undefined;
  /** Conditional marks of writes a rollup could soon reach (issue 15), group committed too. */
  private readonly claimers = new Map<string, ResultGroupCommitter<CounterWriteMark, boolean>>();

  constructor(options: CounterServiceOptions) {
    this.clock = options.clock;
    this.catalog = options.catalog;
    this.timeseries = options.timeseries;
    this.writeMarks = new WriteMarks({ catalog: this.catalog, maxMarksPerCommit: options.maxMarksPerCommit ?? 5000 });
    this.metrics = createCounterMetrics(options.registry);
    this.bestEffort = new BestEffortCounters(this.catalog);
    this.clockOffsets = options.clockOffsets;
    const rollups = (this.rollups = new CounterRollups({
      clock: this.clock,
      catalog: this.catalog,
      timeseries: this.timeseries,
      metrics: this.metrics,
      ...(options.clockOffsets ? { offsets: options.clockOffsets } : {}),
    }));
    const pipelineOptions = (this.pipelineOptions = options.pipeline ?? {});
    const bound = pipelineOptions.rollupTimeoutMs;
    // 0 or NaN would time every rollup out at once: nothing would ever be rolled up.
    if (bound !== undefined && !(Number.isFinite(bound) && bound > 0)) {
      throw new DgwError('INVALID_ARGUMENT', `rollupTimeoutMs: ${bound} must be a positive number of ms`);
    }
    this.rollupTimeoutMs = bound ?? DEFAULT_ROLLUP_TIMEOUT_MS;
    const scheduler = (this.scheduler = pipelineOptions.scheduler ?? createRealScheduler());
    // One tally of rollups past their bound for the pipelines and the sweeper (dgw_counters_rollups_overdue).
    const overdue = (this.overdue = new OverdueGauge(this.metrics.rollupsOverdue));
    const pipelines = (this.pipelines = new PipelinesByNamespace(scheduler, pipelineOptions, this.metrics, (config, counter) => rollups.rollup(config, counter), overdue));
    this.sweeper = new Sweeper({
      catalog: this.catalog,
      scheduler,
      metrics: this.metrics,
      rollupTimeoutMs: this.rollupTimeoutMs,
      rollup: (config, counter) => rollups.rollup(config, counter),
      pipelineOverdue: (namespace, counter) => pipelines.get(namespace)?.isOverdue(counter) ?? false,
      onOverdue: (namespace) => overdue.overdue(namespace),
    });
  }

  async addCount(config: CounterConfig, request: AddCountRequest): Promise<void> {
    await this.instrument(config, 'AddCount', () => this.add(config, request, false));
  }

  async addAndGetCount(config: CounterConfig, request: AddCountRequest): Promise<bigint> {
    return this.instrument(config, 'AddAndGetCount', async () => (await this.add(config, request, true)) ?? 0n);
  }

  getCountNow(config: CounterConfig, counterName: string): bigint | undefined {
    if (config.counterType !== 'EVENTUAL') return undefined;
    // A count the process holds (the embedded in-process cache, or the near cache in front
    // of Redis) is answered now, without a promise per layer (issue 9); the steps and
    // metrics are those of getCount's EVENTUAL case.
    const cached = this.rollups.cachedRollup(config, counterName);
    if (cached === undefined) return undefined;
    return this.measureNow(config, 'GetCount', () => {
      validateCounterName(counterName);
      this.pipelines.trigger(config, counterName);
      return cached.count;
    });
  }

  getCount(config: CounterConfig, counterName: string): Promise<bigint> {
    try {
      const now = this.getCountNow(config, counterName);
      if (now !== undefined) return Promise.resolve(now);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.instrument(config, 'GetCount', async () => {
      validateCounterName(counterName);
      switch (config.counterType) {
        case 'BEST_EFFORT':
          return this.bestEffort.get(config, counterName);
        case 'EVENTUAL': {
          const { count } = await this.rollups.readRollup(config, counterName);
          this.pipelines.trigger(config, counterName);
          return count;
        }
        case 'ACCURATE': {
          const count = await this.rollups.accurateCount(config, counterName);
          // Keeps the live window (and so the read cost) short.
          this.pipelines.trigger(config, counterName);
          return count;
        }
      }
    });
  }

  async clearCount(config: CounterConfig, request: ClearCountRequest): Promise<void> {
    await this.instrument(config, 'ClearCount', async () => {
      validateClear(request);
      if (config.counterType === 'BEST_EFFORT') return this.bestEffort.clear(config, request.counterName);
      await this.writeMutation(config, request.counterName, request.token, (time, id) => clearEvent(request.counterName, time, id));
    });
  }

  readLog(config: CounterConfig, query: CounterLogQuery): Promise<CounterLogPage> {
    return this.instrument(config, 'ReadCounterLog', async () => {
      validateCounterName(query.counterName);
      requireLog(config);
      return readCounterLog(this.timeseries, this.clock, config, query);
    });
  }

  recount(config: CounterConfig, counterName: string, repair: boolean): Promise<RecountResult> {
    return this.instrument(config, 'RecountCount', async () => {
      validateCounterName(counterName);
      requireLog(config);
      return recountCounter({ clock: this.clock, catalog: this.catalog, timeseries: this.timeseries }, config, counterName, repair);
    });
  }

  compare(config: CounterConfig, query: CompareCountsQuery): Promise<CompareCountsResult> {
    return this.instrument(config, 'CompareCounts', async () => {
      requireLog(config);
      return compareCounts(this.timeseries, this.clock, config, query);
    });
  }

  async rollupNow(config: CounterConfig, counterName: string): Promise<void> {
    validateCounterName(counterName);
    if (config.counterType !== 'BEST_EFFORT') await this.rollups.rollup(config, counterName);
  }

  /** Routes rollup events through the durable bus: see {@link CounterEngine.useRollupBus}. */
  useRollupBus(bus: RollupBus, resolve: (namespace: string) => Promise<CounterConfig | undefined>): void {
    const { catalog, pipelines } = this;
    const durable = new DurableRollups({
      bus,
      clock: this.clock,
      metrics: this.metrics,
      resolve,
      eligible: (config) => catalog.capabilities(config.rollup.storage.store, 'rollups').shared,
      rollup: (config, counter, coversMicros) => this.rollups.rollupUnlessCovered(config, counter, coversMicros),
      fallback: (config, counter) => void pipelines.triggerLocal(config, counter),
      ...(this.pipelineOptions.onError ? { onError: this.pipelineOptions.onError } : {}),
      scheduler: this.scheduler,
      rollupTimeoutMs: this.rollupTimeoutMs,
      onOverdue: (namespace) => this.overdue.overdue(namespace),
    });
    pipelines.useShared(durable);
    durable.start();
  }

  /** The sweeper (DESIGN 4.5, sweeper.ts): see {@link CounterEngine.sweep}. */
  sweep(config: CounterConfig): Promise<SweepResult> {
    return this.sweeper.sweep(config);
  }

  async dropNamespace(config: CounterConfig): Promise<void> {
    await this.pipelines.retire(config.name);
    if (config.counterType !== 'BEST_EFFORT') {
      await this.timeseries.dropNamespace(config.events);
      this.rollups.liveWindows(config)?.forgetNamespace(config.events.name);
    }
    await this.catalog.rollups(config.rollup.storage.store).dropNamespace(config.name);
    // This instance forgets its marks of every incarnation (a re-create in the same
    // microsecond of a frozen clock, or on a registry without tombstones, may repeat one).
    this.writeMarks.forgetNamespace(config.name);
    await this.catalog.rollupCache(config.cache.storage.store).dropNamespace(config.name);
    // Best-effort values too, whatever the type now (it may have been BEST_EFFORT before):
    // a re-created namespace starts at 0 (issue 14.9).
    await this.bestEffort.dropNamespace(config);
  }

  async runLifecycle(config: CounterConfig): Promise<void> {
    if (config.counterType === 'BEST_EFFORT') return;
    // Sweep first (DESIGN 4.5): every counter with writes past its checkpoint is rolled
    // up before the lifecycle may drop the slices holding those writes.
    const swept = await this.sweep(config);
    const left = swept.failed + swept.timedOut;
    if (left > 0) {
      throw new DgwError(
        'UNAVAILABLE',
        `${left} of ${swept.swept} lagging counters of "${config.name}" not rolled up (${swept.timedOut} not done within ${this.sweeper.rollupTimeoutMs} ms, a hung store call?; ${swept.failed} failed); slices kept until the next pass`,
      );
    }
    await this.timeseries.runLifecycle(config.events);
    // Dropped slices take events with them: ACCURATE reads rescan rather than remember them.
    this.rollups.liveWindows(config)?.forgetNamespace(config.events.name);
  }

  /** See {@link CounterService.shutdown}: the pipelines' drain and the sweeps' stop run side by side. */
  async shutdown(): Promise<void> {
    await Promise.all([this.pipelines.shutdown(), this.sweeper.shutdown()]);
  }

  private async add(config: CounterConfig, request: AddCountRequest, andGet: boolean): Promise<bigint | undefined> {
    validateAdd(request);
    if (config.counterType === 'BEST_EFFORT') return this.bestEffort.add(config, request.counterName, request.delta);
    await this.writeMutation(config, request.counterName, request.token, (time, id) => addEvent(request.counterName, time, id, request.delta));
    return andGet ? this.rollups.accurateCount(config, request.counterName) : undefined;
  }

  /**
   * Writes one mutation event so that it is acknowledged only if it will be counted
   * (issue 15): never stored at or behind the counter's checkpoint.
   *
   * - A write a rollup could reach within {@link WRITE_HOLD_MICROS} (see `claimNeeded`)
   *   first *claims* its time in the rollup store: refused when the checkpoint is already
   *   there (FAILED_PRECONDITION, nothing stored; a retry of a stored event succeeds), else
   *   it holds rollups of the counter back from its time while it commits.
   * - Any other write records its write mark (cached, see write-marks.ts): no rollup can
   *   reach its time before WRITE_HOLD_MICROS have passed.
   * - Either way the event must be durable within WRITE_HOLD_MICROS. A slower write claims
   *   its time again after the commit: refused means a rollup may have passed it, and the
   *   client is told the outcome is unknown (UNAVAILABLE) instead of a false "ok".
   *
   * The mark goes before the event so that no stored event is older than the counter's
   * firstWriteTs (rollups start there, not at the epoch); a mark whose event then fails is
   * harmless (an empty window). Times beyond the future limit are refused by the write, so
   * they are not marked; times older than the accept limit only pass as retries of stored
   * events (the TimeSeries write path checks).
   */
  private async writeMutation(
    config: CounterConfig,
    counter: string,
    token: IdempotencyToken | undefined,
    make: (time: number, id: string) => EventRecord,
  ): Promise<void> {
    const start = this.clock.nowMicros();
    const time = token?.generationTimeMicros ?? this.storeNow(config, start);
    const id = token?.token ?? randomUUID();
    const event = make(time, id);
    const p = config.events.primary;
    const inWindow = time >= start - p.acceptLimitMicros && time <= start + p.futureLimitMicros;
    if (inWindow && this.claimNeeded(config, time, start)) {
      if (!(await this.claim(config, counter, time))) {
        if (token && (await this.isStored(config, counter, time, id))) {
          // A retry of a stored write: its first attempt may have failed before it fired
          // its rollup event (the slow-write UNAVAILABLE below).
          this.pipelines.trigger(config, counter, time);
          return;
        }
        throw new DgwError(
          'FAILED_PRECONDITION',
          `idempotency_token.generation_time: counter "${counter}" is already rolled up past ${new Date(time / 1000).toISOString()}; the mutation was not stored (send it again with a new token and time)`,
          { details: [{ field: 'idempotency_token.generation_time', reason: 'behind the rollup checkpoint' }] },
        );
      }
    } else if (inWindow) {
      await this.writeMarks.ensure(config, counter, time);
    }
    // From here on a mark or claim is recorded: the rollup event fires whatever happens,
    // so that every write mark past a checkpoint has an event still to come and no claim
    // outlives the last event of its counter (durable-rollups.ts relies on both).
    try {
      // ACCURATE reads remember what they read; a newly stored event is added to it, any
      // other outcome makes them read its time again (live-window.ts).
      const windows = this.rollups.liveWindows(config);
      windows?.beginWrite(config.events.name, counter, time);
      let stored = false;
      try {
        // Built and checked here (names and tokens in validate.ts): no generic batch checks.
        stored = await this.timeseries.writeOwnEventSync(config.events, event);
      } catch (err) {
        throw renameEventErrors(err);
      } finally {
        windows?.endWrite(config.events.name, counter, time, stored ? event : undefined);
      }
      if (inWindow && this.clock.nowMicros() - start >= WRITE_HOLD_MICROS && !(await this.claim(config, counter, time))) {
        throw new DgwError(
          'UNAVAILABLE',
          `counter "${counter}": the mutation was stored too slowly and a rollup may have passed its time; it may or may not be counted`,
          { details: [{ reason: 'outcome unknown' }] },
        );
      }
    } finally {
      this.pipelines.trigger(config, counter, time);
    }
  }

  /**
   * The time of a mutation without a token (issue 15): this instance's estimate of the
   * rollup store's clock (`now + measured offset`), so tokenless adds and clears served by
   * different instances are ordered as they happened, whatever each instance's clock says.
   * Beyond the namespace's skew margin the instance cannot order them: refused (retry on
   * another instance, whose /readyz is green, or send a token).
   */
  private storeNow(config: CounterConfig, start: number): number {
    const offset = this.clockOffsets?.offsetMicros(config.rollup.storage.store) ?? 0;
    if (offsetBeyondMargin(this.clockOffsets, config.rollup.storage.store, config.skewMarginMicros) !== undefined) {
      throw new DgwError(
        'UNAVAILABLE',
        `this instance's clock is ${(-offset / 1e6).toFixed(3)} s off the counter store's, beyond skew_margin (${config.skewMarginMicros / 1e6} s): a mutation without idempotency_token cannot be ordered here; send it to another instance or with a token`,
        { details: [{ reason: 'clock offset beyond skew margin' }] },
      );
    }
    return start + offset;
  }

  /**
   * Whether a rollup could reach `time` before WRITE_HOLD_MICROS have passed: rollups end
   * at `now − acceptLimit − skewMargin` on their instance's clock. On a store shared by
   * several instances, their clocks may be up to skewMargin ahead of this one.
   */
  private claimNeeded(config: CounterConfig, time: number, start: number): boolean {
    const shared = this.catalog.capabilities(config.rollup.storage.store, 'rollups').shared;
    const ahead = shared ? config.skewMarginMicros : 0;
    return time <= start + WRITE_HOLD_MICROS + ahead - config.events.primary.acceptLimitMicros - config.skewMarginMicros;
  }

  /** Claims `time` for the counter in the rollup store (group committed); false when a rollup is already there. */
  private async claim(config: CounterConfig, counter: string, time: number): Promise<boolean> {
    const store = config.rollup.storage.store;
    let batcher = this.claimers.get(store);
    if (!batcher) {
      const rollupStore = this.catalog.rollups(store);
      batcher = new ResultGroupCommitter<CounterWriteMark, boolean>({ flush: (marks) => rollupStore.claimWrites(marks, WRITE_HOLD_MICROS), maxBatchItems: 1000 });
      this.claimers.set(store, batcher);
    }
    const [accepted] = await batcher.submit([{ namespace: config.name, counter, eventTimeMicros: time }]);
    return accepted === true;
  }

  /** Whether the event `(counter, time, id)` is stored (a retry of a write that went through). */
  private async isStored(config: CounterConfig, counter: string, time: number, id: string): Promise<boolean> {
    for await (const e of this.timeseries.scanSeries(config.events, counter, time, time + 1)) if (e.eventId === id) return true;
    return false;
  }

  private async instrument<T>(config: CounterConfig, op: CounterOperation, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const series = this.seriesOf(config, op);
    try {
      const result = await work();
      series.ok.inc();
      return result;
    } catch (err) {
      this.countFailure(series, err);
      throw err;
    } finally {
      series.seconds.observe((performance.now() - started) / 1000);
    }
  }

  /** {@link instrument} for work done now: the same metrics; returns or throws what `work` does. */
  private measureNow<T>(config: CounterConfig, op: CounterOperation, work: () => T): T {
    const started = performance.now();
    const series = this.seriesOf(config, op);
    try {
      const result = work();
      series.ok.inc();
      return result;
    } catch (err) {
      this.countFailure(series, err);
      throw err;
    } finally {
      series.seconds.observe((performance.now() - started) / 1000);
    }
  }

  /** The failed call's outcome: its error code (INTERNAL for anything else). */
  private countFailure(series: OperationSeries, err: unknown): void {
    this.metrics.operations.inc({ ...series.base, outcome: isDgwError(err) ? err.code : 'INTERNAL' });
  }

  private seriesOf(config: CounterConfig, op: CounterOperation): OperationSeries {
    let byType = this.operationSeries.get(op);
    if (byType === undefined) this.operationSeries.set(op, (byType = new Map()));
    let series = byType.get(config.counterType);
    if (series === undefined) {
      const base = { counter_type: config.counterType, operation: op };
      byType.set(config.counterType, (series = { base, ok: new CounterCell(this.metrics.operations, { ...base, outcome: 'ok' }), seconds: new HistogramCell(this.metrics.operationSeconds, base) }));
    }
    return series;
  }
}

/** Audit, recount and comparison read the event log, which BEST_EFFORT counters do not keep. */
function requireLog(config: CounterConfig): void {
  if (config.counterType === 'BEST_EFFORT') {
    throw new DgwError('FAILED_PRECONDITION', `counter namespace "${config.name}" is BEST_EFFORT: it keeps no event log to audit, recount or compare (EVENTUAL and ACCURATE do)`);
  }
}

/**
 * The TimeSeries layer names fields of its own request (`events[0].eventTime`); a counter
 * client sent `idempotency_token.generation_time`, so say that instead.
 */
function renameEventErrors(err: unknown): unknown {
  if (!isDgwError(err) || !err.message.startsWith('events[0].eventTime')) return err;
  const field = 'idempotency_token.generation_time';
  const message = field + err.message.slice('events[0].eventTime'.length);
  return new DgwError(err.code, message, {
    details: err.details.map((d) => (d.field === 'events[0].eventTime' ? { ...d, field } : d)),
    cause: err,
  });
}
