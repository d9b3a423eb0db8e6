/**
 * The Counter abstraction (DESIGN 4): {@link createCounterService} wires best-effort
 * counters, the event write path of EVENTUAL / ACCURATE counters, rollups, the rollup
 * pipelines and metrics behind {@link CounterService}.
 */
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { GroupCommitter, ResultGroupCommitter } from '../group-committer.js';
import type { Clock } from '../../kernel/clock.js';
import type { CounterConfig } from '../control/types.js';
import { DgwError, isDgwError } from '../../kernel/errors.js';
import type { TimeSeriesEngine } from '../timeseries/service.js';
import type { CounterWriteMark } from '../../domain/counters.js';
import type { StoresByKey } from '../../storage/contracts.js';
import type { EventRecord } from '../../domain/events.js';
import { BestEffortCounters } from './best-effort.js';
import { addEvent, clearEvent } from './counter-events.js';
import { createCounterMetrics, type CounterMetrics, type CounterOperation } from './metrics.js';
import { PipelinesByNamespace, type PipelineOptions } from './pipelines-by-namespace.js';
import { CounterRollups } from './rollup.js';
import { createRealScheduler } from './scheduler.js';
import type { AddCountRequest, ClearCountRequest, CounterService, IdempotencyToken } from './types.js';
import { validateAdd, validateClear, validateCounterName } from './validate.js';
import { WriteMarkCache } from './write-marks.js';

/** Options of {@link createCounterService}. */
export interface CounterServiceOptions {
  clock: Clock;
  catalog: StoresByKey;
  /** The TimeSeries engine holding each counter namespace's events (`config.events`). */
  timeseries: TimeSeriesEngine;
  /** Prometheus registry for the counter metrics; a private one when absent. */
  registry?: Registry;
  /** Rollup pipeline tuning (scheduler, back-pressure). */
  pipeline?: PipelineOptions;
  /** Most write marks in one rollup-store commit (default 5000). */
  maxMarksPerCommit?: number;
}

/** The service plus what tests and the server inspect. */
export interface CounterEngine extends CounterService {
  /** Rolls one counter up now, outside the pipeline (admin and tests). */
  rollupNow(config: CounterConfig, counterName: string): Promise<void>;
  /**
   * The sweeper (DESIGN 4.5): rolls up now every counter of the namespace whose write mark
   * is past its checkpoint, whether or not a queue holds it (after a crash, a dropped
   * rollup event). Resolves once each was rolled up once; `failed` counts rollups that
   * failed (retried by the next sweep). The server runs it before each lifecycle pass, so
   * no slice is dropped before the increments in it were rolled up.
   */
  sweep(config: CounterConfig): Promise<SweepResult>;
  /**
   * Deletes what a counter namespace holds: its events (EVENTUAL, ACCURATE), its rollup
   * rows and its cached checkpoints. The control plane calls it when the namespace is deleted.
   */
  dropNamespace(config: CounterConfig): Promise<void>;
  /** One lifecycle pass: sweep lagging counters, then the events namespace's slices (ahead of need, close, drop). */
  runLifecycle(config: CounterConfig): Promise<void>;
  /** The per-namespace rollup pipelines of this instance. */
  readonly pipelines: PipelinesByNamespace;
  readonly metrics: CounterMetrics;
}

/** What one {@link CounterEngine.sweep} did. */
export interface SweepResult {
  /** Lagging counters found and rolled up. */
  swept: number;
  /** Of those, rollups that failed. */
  failed: number;
}

/**
 * How long a mutation may take to become durable before its acknowledgement needs a
 * confirmation (a claim after the commit), and how long a claim holds rollups back.
 */
export const WRITE_HOLD_MICROS = 2_000_000;

/** Lagging counters read per page by the sweeper. */
const SWEEP_PAGE = 1000;

/** Creates the Counter abstraction of one dgw instance. */
export function createCounterService(options: CounterServiceOptions): CounterEngine {
  const { clock, catalog, timeseries } = options;
  const metrics = createCounterMetrics(options.registry);
  const bestEffort = new BestEffortCounters(catalog);
  const rollups = new CounterRollups({ clock, catalog, timeseries, metrics });
  const pipelineOptions = options.pipeline ?? {};
  const pipelines = new PipelinesByNamespace(
    pipelineOptions.scheduler ?? createRealScheduler(),
    pipelineOptions,
    metrics,
    (config, counter) => rollups.rollup(config, counter),
  );
  // Group commit of lastWriteTs marks, one committer per rollup store: N concurrent adds
  // cost one rollup-store commit (one fsync on SQLite), not N.
  const markCommitters = new Map<string, GroupCommitter<CounterWriteMark>>();
  // Keyed by the configuration object: the control plane hands out a fresh one on every
  // refresh (2 s) and after a re-create, so what this instance remembers never outlives
  // the namespace incarnation it was recorded for by more than that delay.
  const markCaches = new WeakMap<CounterConfig, WriteMarkCache>();
  const markCacheOf = (config: CounterConfig): WriteMarkCache => {
    let cache = markCaches.get(config);
    if (!cache) {
      cache = new WriteMarkCache();
      markCaches.set(config, cache);
    }
    return cache;
  };
  // Conditional marks of writes a rollup could soon reach (issue 15), group committed too.
  const claimers = new Map<string, ResultGroupCommitter<CounterWriteMark, boolean>>();
  const claim = async (config: CounterConfig, counter: string, time: number): Promise<boolean> => {
    const store = config.rollup.storage.store;
    let batcher = claimers.get(store);
    if (!batcher) {
      const rollupStore = catalog.rollups(store);
      batcher = new ResultGroupCommitter<CounterWriteMark, boolean>({ flush: (marks) => rollupStore.claimWrites(marks, WRITE_HOLD_MICROS), maxBatchItems: 1000 });
      claimers.set(store, batcher);
    }
    const [accepted] = await batcher.submit([{ namespace: config.name, counter, eventTimeMicros: time }]);
    return accepted === true;
  };
  /** Whether the event `(counter, time, id)` is stored (a retry of a write that went through). */
  const isStored = async (config: CounterConfig, counter: string, time: number, id: string): Promise<boolean> => {
    for await (const e of timeseries.scanSeries(config.events, counter, time, time + 1)) if (e.eventId === id) return true;
    return false;
  };
  const marksOf = (store: string): GroupCommitter<CounterWriteMark> => {
    let committer = markCommitters.get(store);
    if (!committer) {
      committer = new GroupCommitter<CounterWriteMark>({
        maxBatchItems: options.maxMarksPerCommit ?? 5000,
        flush: (marks) => catalog.rollups(store).recordWrites(spanPerCounter(marks)),
      });
      markCommitters.set(store, committer);
    }
    return committer;
  };

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
  const writeMutation = async (
    config: CounterConfig,
    counter: string,
    token: IdempotencyToken | undefined,
    make: (time: number, id: string) => EventRecord,
  ): Promise<void> => {
    const start = clock.nowMicros();
    const time = token?.generationTimeMicros ?? start;
    const id = token?.token ?? randomUUID();
    const event = make(time, id);
    const p = config.events.primary;
    const inWindow = time >= start - p.acceptLimitMicros && time <= start + p.futureLimitMicros;
    if (inWindow && claimNeeded(config, time, start)) {
      if (!(await claim(config, counter, time))) {
        if (token && (await isStored(config, counter, time, id))) return; // a retry of a counted write
        throw new DgwError(
          'FAILED_PRECONDITION',
          `idempotency_token.generation_time: counter "${counter}" is already rolled up past ${new Date(time / 1000).toISOString()}; the mutation was not stored (send it again with a new token and time)`,
          { details: [{ field: 'idempotency_token.generation_time', reason: 'behind the rollup checkpoint' }] },
        );
      }
    } else if (inWindow) {
      const markCache = markCacheOf(config);
      const marks = markCache.needed(config.name, counter, time);
      if (marks.length > 0) {
        await marksOf(config.rollup.storage.store).submit(marks);
        markCache.recorded(marks);
      }
    }
    try {
      await timeseries.writeSync(config.events, [event]);
    } catch (err) {
      throw renameEventErrors(err);
    }
    if (inWindow && clock.nowMicros() - start >= WRITE_HOLD_MICROS && !(await claim(config, counter, time))) {
      throw new DgwError(
        'UNAVAILABLE',
        `counter "${counter}": the mutation was stored too slowly and a rollup may have passed its time; it may or may not be counted`,
        { details: [{ reason: 'outcome unknown' }] },
      );
    }
    pipelines.trigger(config, counter);
  };

  /**
   * Whether a rollup could reach `time` before WRITE_HOLD_MICROS have passed: rollups end
   * at `now − acceptLimit − skewMargin` on their instance's clock. On a store shared by
   * several instances, their clocks may be up to skewMargin ahead of this one.
   */
  const claimNeeded = (config: CounterConfig, time: number, start: number): boolean => {
    const shared = catalog.capabilities(config.rollup.storage.store, 'rollups').shared;
    const ahead = shared ? config.skewMarginMicros : 0;
    return time <= start + WRITE_HOLD_MICROS + ahead - config.events.primary.acceptLimitMicros - config.skewMarginMicros;
  };

  const instrument = async <T>(config: CounterConfig, op: CounterOperation, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const labels = { counter_type: config.counterType, operation: op };
    try {
      const result = await work();
      metrics.operations.inc({ ...labels, outcome: 'ok' });
      return result;
    } catch (err) {
      metrics.operations.inc({ ...labels, outcome: isDgwError(err) ? err.code : 'INTERNAL' });
      throw err;
    } finally {
      metrics.operationSeconds.observe(labels, (performance.now() - started) / 1000);
    }
  };

  const add = async (config: CounterConfig, request: AddCountRequest, andGet: boolean): Promise<bigint | undefined> => {
    validateAdd(request);
    if (config.counterType === 'BEST_EFFORT') return bestEffort.add(config, request.counterName, request.delta);
    await writeMutation(config, request.counterName, request.token, (time, id) =>
      addEvent(request.counterName, time, id, request.delta),
    );
    return andGet ? rollups.accurateCount(config, request.counterName) : undefined;
  };

  /** The sweeper (DESIGN 4.5): see {@link CounterEngine.sweep}. */
  const sweep = async (config: CounterConfig): Promise<SweepResult> => {
    const result: SweepResult = { swept: 0, failed: 0 };
    if (config.counterType === 'BEST_EFFORT') return result;
    const store = catalog.rollups(config.rollup.storage.store);
    const parallel = Math.max(1, config.rollup.rollupBatchCount);
    let after = '';
    for (;;) {
      const page = await store.laggingCounters(config.name, after, SWEEP_PAGE);
      for (let i = 0; i < page.length; i += parallel) {
        const outcomes = await Promise.allSettled(page.slice(i, i + parallel).map((c) => rollups.rollup(config, c)));
        for (const o of outcomes) if (o.status === 'rejected') result.failed++;
      }
      result.swept += page.length;
      metrics.sweptCounters.inc({ namespace: config.name }, page.length);
      if (page.length < SWEEP_PAGE) return result;
      after = page[page.length - 1]!;
    }
  };

  return {
    pipelines,
    metrics,

    async addCount(config, request) {
      await instrument(config, 'AddCount', () => add(config, request, false));
    },

    async addAndGetCount(config, request) {
      return instrument(config, 'AddAndGetCount', async () => (await add(config, request, true)) ?? 0n);
    },

    getCount(config, counterName) {
      return instrument(config, 'GetCount', async () => {
        validateCounterName(counterName);
        switch (config.counterType) {
          case 'BEST_EFFORT':
            return bestEffort.get(config, counterName);
          case 'EVENTUAL': {
            const { count } = await rollups.readRollup(config, counterName);
            pipelines.trigger(config, counterName);
            return count;
          }
          case 'ACCURATE': {
            const count = await rollups.accurateCount(config, counterName);
            // Keeps the live window (and so the read cost) short.
            pipelines.trigger(config, counterName);
            return count;
          }
        }
      });
    },

    async clearCount(config, request: ClearCountRequest) {
      await instrument(config, 'ClearCount', async () => {
        validateClear(request);
        if (config.counterType === 'BEST_EFFORT') return bestEffort.clear(config, request.counterName);
        await writeMutation(config, request.counterName, request.token, (time, id) => clearEvent(request.counterName, time, id));
      });
    },

    async rollupNow(config, counterName) {
      validateCounterName(counterName);
      if (config.counterType !== 'BEST_EFFORT') await rollups.rollup(config, counterName);
    },

    sweep: (config) => sweep(config),

    async dropNamespace(config) {
      await pipelines.retire(config.name);
      if (config.counterType !== 'BEST_EFFORT') await timeseries.dropNamespace(config.events);
      await catalog.rollups(config.rollup.storage.store).dropNamespace(config.name);
      await catalog.rollupCache(config.cache.storage.store).dropNamespace(config.name);
      // Best-effort values too, whatever the type now (it may have been BEST_EFFORT before):
      // a re-created namespace starts at 0 (issue 14.9).
      await bestEffort.dropNamespace(config);
    },

    async runLifecycle(config) {
      if (config.counterType === 'BEST_EFFORT') return;
      // Sweep first (DESIGN 4.5): every counter with writes past its checkpoint is rolled
      // up before the lifecycle may drop the slices holding those writes.
      const swept = await sweep(config);
      if (swept.failed > 0) {
        throw new Error(`${swept.failed} of ${swept.swept} lagging counters failed to roll up; slices kept until the next pass`);
      }
      await timeseries.runLifecycle(config.events);
    },

    shutdown: () => pipelines.shutdown(),
  };
}

/** One mark per counter (the latest time): fewer rows touched per commit. */
function spanPerCounter(marks: CounterWriteMark[]): CounterWriteMark[] {
  if (marks.length <= 1) return marks;
  // Only the earliest and latest mark of a counter matter (firstWriteTs, lastWriteTs).
  const spans = new Map<string, { first: CounterWriteMark; last: CounterWriteMark }>();
  for (const m of marks) {
    const key = `${m.namespace}\u0000${m.counter}`;
    const seen = spans.get(key);
    if (!seen) spans.set(key, { first: m, last: m });
    else {
      if (m.eventTimeMicros < seen.first.eventTimeMicros) seen.first = m;
      if (m.eventTimeMicros > seen.last.eventTimeMicros) seen.last = m;
    }
  }
  return [...spans.values()].flatMap((s) => (s.first === s.last ? [s.first] : [s.first, s.last]));
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
