/**
 * Audit and recount of EVENTUAL / ACCURATE counters (issue 13): the event log the Counter
 * article chose "so that counts could be audited", read back and re-added.
 *
 * - {@link readCounterLog}: a counter's adds and clears with their idempotency tokens and
 *   generation times, newest first, paged with the TimeSeries page tokens.
 * - {@link recountCounter}: folds the whole retained log up to the rollup's checkpoint and
 *   compares it with the rollup's count. It changes nothing unless asked to repair; a
 *   repair is an ordinary forward checkpoint move (to the current rollup end, with the
 *   recounted value), so it is as safe under concurrent rollups as a rollup is.
 *
 * A recount is exact only while the log holds the counter's whole history: every event
 * since its first write, or since a clear. Older events dropped by retention (its
 * `delete_after`) are gone, so the result says whether it was complete.
 */
import type { Clock } from '../../kernel/clock.js';
import type { CounterConfig } from '../control/types.js';
import { DgwError, isDgwError } from '../../kernel/errors.js';
import type { TimeSeriesService } from '../timeseries/api.js';
import type { RollupCheckpoint, StoresByKey } from '../../storage/contracts.js';
import { decodeCounterEvent, foldEvents, type CounterMutation } from './counter-events.js';
import { isInt64 } from './int64.js';
import { rollupCacheCounter } from './rollup.js';

/** One entry of a counter's log. */
export interface CounterLogEntry {
  kind: 'add' | 'clear';
  /** The idempotency token's generation time (or the server time of an untokened call). */
  timeMicros: number;
  /** The idempotency token (a server-made id for an untokened call). */
  token: string;
  /** The delta of an add. */
  delta?: bigint;
}

/** One page of a counter's log, newest first. */
export interface CounterLogPage {
  entries: CounterLogEntry[];
  nextPageToken?: string;
}

/** What to read of a counter's log. */
export interface CounterLogQuery {
  counterName: string;
  /** `[startMicros, endMicros)`; the whole retained log by default. */
  startMicros?: number;
  endMicros?: number;
  pageSize: number;
  pageToken?: string;
}

/** End of a log read without an interval (no event can be stamped past it). */
const LOG_END_MICROS = Number.MAX_SAFE_INTEGER;

/** Reads a page of a counter's adds and clears, newest first. */
export async function readCounterLog(timeseries: TimeSeriesService, clock: Clock, config: CounterConfig, query: CounterLogQuery): Promise<CounterLogPage> {
  const page = await readPage(timeseries, config, query);
  const entries: CounterLogEntry[] = [];
  for (const event of page.events) {
    const m = decodeCounterEvent(event);
    if (!m) continue; // not a counter mutation (written by hand): not part of the count
    entries.push(m.kind === 'add' ? { kind: 'add', timeMicros: m.timeMicros, token: event.eventId, delta: m.delta } : { kind: 'clear', timeMicros: m.timeMicros, token: event.eventId });
  }
  return page.nextPageToken !== undefined ? { entries, nextPageToken: page.nextPageToken } : { entries };
}

/** One page of the counter's events; a bad page token is named as the counter API spells it. */
async function readPage(timeseries: TimeSeriesService, config: CounterConfig, query: CounterLogQuery) {
  try {
    return await timeseries.read(config.events, {
      timeSeriesId: query.counterName,
      startMicros: query.startMicros ?? 0,
      // A fixed end, not "now": the page token is bound to the query's interval, so the
      // pages of one walk must ask the same one.
      endMicros: query.endMicros ?? LOG_END_MICROS,
      eventFilters: [],
      pageSize: query.pageSize,
      totalRecordLimit: 0,
      ...(query.pageToken !== undefined ? { pageToken: query.pageToken } : {}),
      allowPartial: false,
    });
  } catch (err) {
    if (!isDgwError(err) || !err.message.startsWith('pageToken')) throw err;
    throw new DgwError(err.code, `page_token${err.message.slice('pageToken'.length)}`, {
      details: err.details.map((d) => (d.field === 'pageToken' ? { ...d, field: 'page_token' } : d)),
      cause: err,
    });
  }
}

/** What a recount found (and did). */
export interface RecountResult {
  /** The rollup as stored: its count and its checkpoint. */
  rollup: RollupCheckpoint;
  /** The log folded from its start up to the rollup's checkpoint. */
  recount: bigint;
  /** recount − rollup count. */
  difference: bigint;
  /** Mutations read from the log. */
  eventsScanned: number;
  /**
   * True when the log holds the whole history the rollup covers (the first write, or a
   * clear, lies inside retention): only then is a difference a real error.
   */
  complete: boolean;
  /** When asked to repair and the difference was not zero: the checkpoint written. */
  repaired?: RollupCheckpoint;
}

/** Dependencies of {@link recountCounter}. */
export interface RecountDeps {
  clock: Clock;
  catalog: StoresByKey;
  timeseries: TimeSeriesService;
}

/**
 * Recounts a counter from its event log and compares with its rollup. With `repair`, a
 * wrong rollup is replaced: the checkpoint moves to the current rollup end
 * (`now − acceptLimit − skewMargin`) holding the log's fold up to there. Refuses
 * (FAILED_PRECONDITION) to repair from an incomplete log, which would lose what
 * retention dropped.
 */
export async function recountCounter(deps: RecountDeps, config: CounterConfig, counter: string, repair: boolean): Promise<RecountResult> {
  const { clock, catalog, timeseries } = deps;
  const ns = config.name;
  const store = catalog.rollups(config.rollup.storage.store);
  const row = await store.get(ns, counter);
  const rollup: RollupCheckpoint = row ? { count: row.lastRollupCount, rollupTsMicros: row.lastRollupTsMicros } : { count: 0n, rollupTsMicros: 0 };
  const now = clock.nowMicros();
  const end = now - config.events.primary.acceptLimitMicros - config.skewMarginMicros;
  // A repair's checkpoint: the rollup end, or just past the stored checkpoint when that is
  // already there (the conditional write only moves forward).
  const upTo = Math.max(end, rollup.rollupTsMicros + 1);
  // Oldest first, so the fold sees clears in order; the scan is newest first.
  const mutations: CounterMutation[] = [];
  for await (const event of timeseries.scanSeries(config.events, counter, 0, upTo + 1)) {
    const m = decodeCounterEvent(event);
    if (m) mutations.push(m);
  }
  mutations.reverse();
  const atCheckpoint = foldEvents(0n, mutations.filter((m) => m.timeMicros <= rollup.rollupTsMicros)).count;
  const retentionStart = config.events.primary.deleteAfterMicros > 0 ? now - config.events.primary.deleteAfterMicros : Number.NEGATIVE_INFINITY;
  const firstWrite = row?.firstWriteTsMicros;
  const complete =
    !row ||
    (firstWrite !== undefined && firstWrite > 0 && firstWrite >= retentionStart) ||
    mutations.some((m) => m.kind === 'clear' && m.timeMicros <= rollup.rollupTsMicros);
  const result: RecountResult = { rollup, recount: atCheckpoint, difference: atCheckpoint - rollup.count, eventsScanned: mutations.length, complete };
  if (!repair || result.difference === 0n) return result;
  if (!complete) {
    throw new DgwError('FAILED_PRECONDITION', `counter "${counter}" of "${ns}": its log no longer holds its whole history (retention dropped older events); refusing to repair from it`);
  }
  const next: RollupCheckpoint = { count: foldEvents(0n, mutations.filter((m) => m.timeMicros <= upTo)).count, rollupTsMicros: upTo };
  if (!isInt64(next.count)) throw new DgwError('OUT_OF_RANGE', `counter "${counter}" of "${ns}": recount ${next.count} does not fit in int64`);
  if (!(await store.advance(ns, counter, next))) {
    throw new DgwError('FAILED_PRECONDITION', `counter "${counter}" of "${ns}": a rollup moved the checkpoint during the repair; recount again`);
  }
  await catalog.rollupCache(config.cache.storage.store).put(ns, rollupCacheCounter(config, counter), next);
  result.repaired = next;
  return result;
}
